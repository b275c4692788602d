"""A real local server for ``POST /v1/audio/transcriptions``, with the quirks of the compatible servers.

``FakeOpenAI`` behaves like OpenAI by default (whisper-1 answers every format; gpt-4o models answer
json only and refuse verbose_json with a 400) and can be switched to the other servers' habits:

- ``api_key``: the key it requires (``None``: no check, like a local server);
- ``models``: the only models it knows (``None``: any, like servers that ignore ``model``);
- ``reject_verbose_json``: refuse verbose_json for every model with ``reject_status`` / ``reject_body``;
- ``plain_text``: answer ``text/plain`` whatever was asked (whisper.cpp, or response_format ignored);
- ``max_body``: answer 413 when the request body is larger (OpenAI's 26214400, LocalAI's 15 MB, …);
- ``payload``: the verbose_json answer (default: a realistic whisper-1 answer with words and segments).

``FakeFiles`` serves audio for URL inputs and logs who asked (to check no key leaks to it).
Both keep the request log of ``FakeServer``; one-shot faults (``add_fault``) give every error shape.
"""

from __future__ import annotations

import threading
from typing import Any

from tests.servers import FakeServer, Logged

OPENAI_KEY = "sk-test-openai-0123456789"
JSON_ONLY = ("gpt-4o-transcribe", "gpt-4o-mini-transcribe")
ROUTE = "/v1/audio/transcriptions"
TALK = ("Good morning, everyone, and welcome to the second lecture on distributed systems. "
        "Last week we saw that clocks on different machines drift apart, so today we will look at "
        "logical clocks instead. Let's begin with a simple example.")


def verbose_payload(text: str = TALK, *, words: bool = True, segments: bool = True,
                    seconds_per_word: float = 0.38, language: str = "english") -> dict[str, Any]:
    """A whisper-1 verbose_json answer: unpunctuated words with times, punctuated segments per sentence."""
    tokens = text.split()
    word_items: list[dict[str, Any]] = []
    t = 0.42
    for token in tokens:
        end = t + seconds_per_word * (0.6 + 0.1 * min(len(token), 8) / 2)
        word_items.append({"word": token.strip(".,;:!?"), "start": round(t, 2), "end": round(end, 2)})
        t = end + (0.35 if token.endswith((".", "?", "!")) else 0.06)
    segment_items: list[dict[str, Any]] = []
    first = 0
    for i, token in enumerate(tokens):
        if token.endswith((".", "?", "!")) or i == len(tokens) - 1:
            segment_items.append({
                "id": len(segment_items), "seek": 0, "start": word_items[first]["start"],
                "end": word_items[i]["end"], "text": " " + " ".join(tokens[first:i + 1]),
                "tokens": [50364 + n for n in range(i + 1 - first)], "temperature": 0.0,
                "avg_logprob": -0.21, "compression_ratio": 1.38, "no_speech_prob": 0.01,
            })
            first = i + 1
    payload: dict[str, Any] = {"task": "transcribe", "language": language,
                               "duration": round(t + 0.5, 2), "text": text}
    if words:
        payload["words"] = word_items
    if segments:
        payload["segments"] = segment_items
    payload["usage"] = {"type": "duration", "seconds": round(t + 0.5)}
    return payload


def openai_error(message: str, *, type_: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def fastapi_missing(field: str) -> dict[str, Any]:
    return {"detail": [{"type": "missing", "loc": ["body", field], "msg": "Field required", "input": None}]}


class _Quick(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        # serve_forever's default 0.5 s poll made every stop() (each test's teardown) wait that long.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)

    # FakeServer._send always labels answers JSON; these servers also answer text/plain and audio.
    def _send(self, h: Any, status: int, payload: Any, headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        headers = dict(headers or {})
        content_type = headers.pop("Content-Type", content_type)
        super()._send(h, status, payload, headers, content_type)


class FakeOpenAI(_Quick):
    def __init__(self, *, api_key: str | None = OPENAI_KEY, models: set[str] | None = None) -> None:
        super().__init__()
        self.api_key = api_key
        self.models = models
        self.reject_verbose_json = False
        self.reject_status = 400
        self.reject_body: Any = openai_error("response_format 'verbose_json' is not supported by this server",
                                             param="response_format")
        self.plain_text = False
        self.max_body: int | None = None
        self.payload: dict[str, Any] = verbose_payload()

    def transcriptions(self) -> list[Logged]:
        return self.requests("POST", ROUTE)

    def handle(self, method: str, path: str, req: Logged) -> tuple[int, Any, dict[str, str]]:
        if method != "POST" or path != ROUTE:
            return 404, {"detail": "Not Found"}, {}
        if self.api_key is not None and req.headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, openai_error("Incorrect API key provided: sk-te***789. You can find your API key at "
                                     "https://platform.openai.com/account/api-keys.", code="invalid_api_key"), {}
        if self.max_body is not None and int(req.headers.get("content-length") or 0) > self.max_body:
            return 413, openai_error(f"Maximum content size limit ({self.max_body}) exceeded "
                                     f"({req.headers.get('content-length')} bytes read)", type_="server_error"), {}
        if req.file_field != "file":
            return 422, fastapi_missing("file"), {}
        if not req.fields.get("model"):
            return 422, fastapi_missing("model"), {}
        model = req.fields["model"]
        if self.models is not None and model not in self.models:
            return 404, openai_error(f"The model `{model}` does not exist or you do not have access to it.",
                                     code="model_not_found"), {}
        fmt = req.fields.get("response_format", "json")
        if self.plain_text:
            return 200, str(self.payload["text"]) + "\n", {"Content-Type": "text/plain; charset=utf-8"}
        json_only = model.removeprefix("openai/").startswith(JSON_ONLY)
        if fmt == "verbose_json" and (self.reject_verbose_json or json_only):
            if json_only and not self.reject_verbose_json:
                return 400, openai_error(f"response_format 'verbose_json' is not compatible with model "
                                         f"'{model}'. Use 'json' or 'text' instead.",
                                         param="response_format", code="unsupported_value"), {}
            return self.reject_status, self.reject_body, {}
        if fmt == "text":
            return 200, str(self.payload["text"]) + "\n", {"Content-Type": "text/plain; charset=utf-8"}
        if fmt == "json":
            return 200, {"text": self.payload["text"],
                         "usage": {"type": "tokens", "input_tokens": 14, "output_tokens": 45,
                                   "total_tokens": 59}}, {}
        if fmt != "verbose_json":
            return 400, openai_error(f"Invalid value: '{fmt}'.", param="response_format"), {}
        granularities = set((req.fields.get("timestamp_granularities[]") or "segment").split(","))
        body = {k: v for k, v in self.payload.items()
                if (k != "words" or "word" in granularities) and (k != "segments" or "segment" in granularities)}
        return 200, body, {}


class FakeFiles(_Quick):
    """A third-party host serving audio: ``files`` maps a path to (bytes, content type)."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, tuple[bytes, str]] = {}

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def handle(self, method: str, path: str, req: Logged) -> tuple[int, Any, dict[str, str]]:
        found = self.files.get(path.split("?", 1)[0])
        if method != "GET" or found is None:
            return 404, "<html><body>Not Found</body></html>", {"Content-Type": "text/html"}
        data, content_type = found
        return 200, data, {"Content-Type": content_type}
