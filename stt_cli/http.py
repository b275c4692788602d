"""The one place that touches ``requests``: session, auth, timeouts, retries and error mapping.

Nothing outside this module sees a ``requests`` exception: transport failures become ``NetworkError``,
HTTP error answers become ``ApiError`` / ``AuthError`` carrying the server's own message, and unreadable
bodies become ``BadResponseError``.
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3

from stt_cli import __version__
from stt_cli.errors import (
    ApiError,
    AuthError,
    BadResponseError,
    ConfigError,
    ExitCode,
    NetworkError,
    SttError,
    job_may_exist,
)

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 120.0
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
RETRY_AFTER_CAP = 60.0
RETRY_BUDGET = 300.0  # total seconds spent sleeping between retries of one request
MIN_MASKED_KEY = 8

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class Response:
    """A fully read answer: status, headers and body bytes (the connection is already released)."""

    status: int
    headers: dict[str, str]
    content: bytes
    url: str

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self) -> Any:
        try:
            return json.loads(self.content)
        except (ValueError, UnicodeDecodeError):
            raise BadResponseError(
                f"the server sent an unreadable answer ({describe_body(self)})",
                hint="check --base-url; run with --verbose to see the request",
            ) from None


def describe_body(resp: Response) -> str:
    body = resp.content.lstrip()[:200].lower()
    if resp.content_type == "text/html" or body.startswith((b"<!doctype html", b"<html")):
        return f"an HTML page, HTTP {resp.status}"
    if not resp.content.strip():
        return f"an empty body, HTTP {resp.status}"
    if resp.content_type == "application/json" or body.startswith((b"{", b"[")):
        return f"malformed or truncated JSON, HTTP {resp.status}"
    return f"{resp.content_type or 'unknown content'}, HTTP {resp.status}"


def error_message(body: Any) -> str | None:
    """The server's own message, whatever the error shape (AIML, OpenAI, FastAPI, whisper.cpp, vLLM)."""
    if isinstance(body, str):
        return body.strip() or None
    if isinstance(body, list):
        parts = [m for m in (error_message(item) for item in body) if m]
        return "; ".join(parts) or None
    if not isinstance(body, dict):
        return None
    # "code" and "type" last: an OpenAI error whose message is null still says what went wrong.
    for key in ("error", "detail", "message", "msg", "error_description", "code", "type"):
        value = body.get(key)
        if value in (None, "", [], {}):
            continue
        if key == "detail" and isinstance(value, list):  # FastAPI validation errors
            return "; ".join(_fastapi_item(item) for item in value) or None
        message = error_message(value)
        if message:
            return message
    return None


def _fastapi_item(item: Any) -> str:
    if isinstance(item, dict) and "msg" in item:
        loc = item.get("loc")
        where = ".".join(str(p) for p in loc if p != "body") if isinstance(loc, list) else ""
        return f"{where}: {item['msg']}" if where else str(item["msg"])
    return error_message(item) or str(item)


def _one_line(text: str, limit: int = 500) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def raise_for_status(resp: Response, *, what: str = "request") -> None:
    """Turn an HTTP error answer into the matching ``SttError``."""
    if resp.status < 400:
        return
    body = _json_or_none(resp.content)
    message = error_message(body) if body is not None else None
    if message is None and resp.content_type.startswith("text/plain") and resp.content.strip():
        message = resp.content.decode("utf-8", "replace")
    if message is None and body is not None:
        message = json.dumps(body, ensure_ascii=False)  # JSON, just not a shape we know: show it
    detail = _one_line(message) if message else describe_body(resp)
    status = resp.status
    if status == 429 and out_of_quota(body):
        raise AuthError(f"out of quota (HTTP 429): {detail}",
                        hint="the account has no credit left; check its plan and billing")
    if status == 401:
        raise AuthError(f"the server rejected the API key (HTTP 401): {detail}",
                        hint="set a valid key: stt config set api_key (or STT_API_KEY)")
    if status == 403:
        raise AuthError(f"access denied (HTTP 403): {detail}",
                        hint="the key may be out of credits or not allowed to use this model")
    if status == 413:
        raise ApiError(f"the server refused the upload as too large (HTTP 413): {detail}", status=status,
                       hint="compress or split the audio, or raise the server's limit",
                       exit_code=ExitCode.USAGE)
    if status == 429:
        raise ApiError(f"rate limited (HTTP 429): {detail}", status=status,
                       hint="wait a moment and retry, or raise --retries")
    if 400 <= status < 500:
        raise ApiError(f"the server rejected the {what} (HTTP {status}): {detail}", status=status,
                       exit_code=ExitCode.USAGE)
    raise ApiError(f"server error (HTTP {status}): {detail}", status=status)


def out_of_quota(body: Any) -> bool:
    """OpenAI answers an empty account with 429 ``insufficient_quota``: waiting will not help."""
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and "insufficient_quota" in (error.get("code"), error.get("type"))


def _json_or_none(content: bytes) -> Any:
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None


def parse_retry_after(headers: dict[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(attempt: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return min(retry_after, RETRY_AFTER_CAP)
    # Full jitter: spreads retries from many concurrent jobs instead of synchronising them.
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached the server (refused, DNS, connect timeout)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError):
            return True
        if isinstance(cause, urllib3.exceptions.MaxRetryError) and cause.reason is not None:
            cause = cause.reason
            continue
        cause = cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else cause.__cause__
    return False


def describe_transport_error(exc: requests.RequestException, url: str) -> NetworkError:
    host = urlsplit(url).netloc or url
    text = str(exc)
    if isinstance(exc, requests.ConnectTimeout):
        return NetworkError(f"timed out connecting to {host}", hint="check the network or --base-url")
    if isinstance(exc, requests.ReadTimeout):
        return NetworkError(f"{host} did not answer in time (read timeout)")
    if "NameResolutionError" in text or "Name or service not known" in text or "nodename nor servname" in text:
        return NetworkError(f"cannot resolve host {urlsplit(url).hostname!r}", hint="check --base-url and DNS")
    if "Connection refused" in text or "NewConnectionError" in text:
        return NetworkError(f"connection refused by {host}", hint="is the server running? check --base-url")
    if isinstance(exc, requests.exceptions.SSLError):
        return NetworkError(f"TLS error talking to {host}")
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return NetworkError(f"the connection to {host} broke mid-response (truncated answer)")
    return NetworkError(f"connection to {host} failed: {type(exc).__name__}")


def _seconds_from_env(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise ConfigError(f"{name} must be a positive number of seconds, not {value!r}")
    return seconds


class _Session(requests.Session):
    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        # Never carry the key across hosts or from https down to http on a redirect. requests already
        # strips on host change; this also covers scheme downgrades and ports, and is tested.
        old, new = urlsplit(response.request.url or ""), urlsplit(prepared_request.url or "")
        if (old.scheme, old.hostname, old.port) != (new.scheme, new.hostname, new.port):
            prepared_request.headers.pop("Authorization", None)
        else:
            super().rebuild_auth(prepared_request, response)


class Http:
    """A session with auth, timeouts, bounded body reads and retries.

    ``retry="safe"`` retries idempotent requests on transport errors and 408/429/5xx.
    ``retry="create"`` is for POSTs that may bill: retried only when the server cannot have started the
    job (connection never made, 429, 503 with Retry-After).
    """

    def __init__(self, base_url: str, api_key: str | None, *, retries: int = 4, log: Log = _quiet,
                 on_retry: Callable[[str], None] | None = None, read_timeout: float = READ_TIMEOUT):
        self.base_url = base_url.rstrip("/")
        self.retries = max(0, retries)
        self.log = log
        self.on_retry = on_retry or (lambda _msg: None)
        self.timeout = (_seconds_from_env("STT_CONNECT_TIMEOUT", CONNECT_TIMEOUT),
                        _seconds_from_env("STT_READ_TIMEOUT", read_timeout))
        self.session = _Session()
        self.session.headers["User-Agent"] = f"stt-cli/{__version__}"
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"
        # Servers sometimes echo the key (in a validation message, a job error). Masking it here, in
        # every buffered answer, keeps it out of messages, tracebacks, the ledger and stored results.
        # Short values are left alone: masking them would garble ordinary text.
        self._secret = api_key.encode() if api_key and len(api_key) >= MIN_MASKED_KEY else None

    def url(self, path: str) -> str:
        return path if "://" in path else f"{self.base_url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, *, retry: str = "safe",
                body_factory: Callable[[], tuple[Any, dict[str, str]]] | None = None,
                json_body: Any = None, headers: dict[str, str] | None = None,
                max_bytes: int = MAX_RESPONSE_BYTES, allow_error: bool = False,
                stream_to: Callable[[bytes], None] | None = None) -> Response:
        """Send and fully read one request, retrying as ``retry`` allows.

        ``body_factory`` builds a fresh body per attempt (a streamed upload cannot be rewound).
        """
        url = self.url(path)
        spent = 0.0
        attempt = 0
        while True:
            data, extra = body_factory() if body_factory else (None, {})
            all_headers = {**(headers or {}), **extra}
            self.log(f"> {method} {url}")
            self.log(f"> {self._shown_headers(all_headers)}")
            started = time.monotonic()
            try:
                resp = self._send(method, url, data=data, json_body=json_body, headers=all_headers,
                                  max_bytes=max_bytes, stream_to=stream_to)
            except requests.RequestException as exc:
                error = describe_transport_error(exc, url)
                retryable = _never_sent(exc) if retry == "create" else True
                if retry == "create" and not retryable:
                    job_may_exist(error)
                delay = backoff_delay(attempt, None)
                if not retryable or attempt >= self.retries or spent + delay > RETRY_BUDGET:
                    raise error from None
                reason = error.message
            else:
                self.log(f"< HTTP {resp.status} {resp.content_type} {len(resp.content)} bytes "
                         f"in {time.monotonic() - started:.2f}s")
                if resp.status < 400 or allow_error:
                    return resp
                retry_after = parse_retry_after(resp.headers)
                if resp.status == 429 and out_of_quota(_json_or_none(resp.content)):
                    retryable = False
                elif retry == "create":
                    retryable = resp.status == 429 or (resp.status == 503 and retry_after is not None)
                else:
                    retryable = resp.status in RETRY_STATUSES
                delay = backoff_delay(attempt, retry_after)
                if not retryable or attempt >= self.retries or spent + delay > RETRY_BUDGET:
                    if retry == "create" and resp.status >= 500:
                        try:
                            raise_for_status(resp, what="job")
                        except SttError as err:
                            raise job_may_exist(err) from None
                    raise_for_status(resp)
                reason = f"HTTP {resp.status}"
            attempt += 1
            spent += delay
            note = f"retrying in {delay:.1f}s ({reason}; attempt {attempt + 1} of {self.retries + 1})"
            self.log(f"! {note}")
            self.on_retry(note)
            time.sleep(delay)

    def _shown_headers(self, extra: dict[str, str]) -> str:
        merged = {**self.session.headers, **extra}
        if "Authorization" in merged:
            merged["Authorization"] = "Bearer ***"
        return ", ".join(f"{k}: {v}" for k, v in merged.items() if k not in ("Accept-Encoding", "Connection"))

    def _send(self, method: str, url: str, *, data: Any, json_body: Any, headers: dict[str, str],
              max_bytes: int, stream_to: Callable[[bytes], None] | None) -> Response:
        with self.session.request(method, url, data=data, json=json_body, headers=headers,
                                  timeout=self.timeout, stream=True) as raw:
            chunks: list[bytes] = []
            size = 0
            # Error pages are kept for their message, never streamed into the caller's file.
            sink = stream_to if raw.status_code < 400 else None
            for chunk in raw.iter_content(65536):
                size += len(chunk)
                if sink is not None:
                    sink(chunk)
                    continue
                if size > max_bytes:
                    raise BadResponseError(
                        f"the server's answer is larger than {max_bytes // (1024 * 1024)} MiB; refusing it")
                chunks.append(chunk)
            content = b"".join(chunks)
            if self._secret is not None:
                content = content.replace(self._secret, b"***")
            return Response(status=raw.status_code,
                            headers={k.lower(): v for k, v in raw.headers.items()},
                            content=content, url=raw.url)

    def close(self) -> None:
        self.session.close()
