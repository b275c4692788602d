"""Real HTTP servers on 127.0.0.1 that behave like the hosted APIs, quirks and failures included.

Each server keeps a request log so tests can assert what the client really sent (and how often).
Behaviour is set per test through attributes and a queue of one-shot faults.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from requests_toolbelt.multipart.decoder import MultipartDecoder

API_KEY = "test-key-0123456789"
FILE_FIELD_MODELS = {"openai/gpt-4o-transcribe", "openai/gpt-4o-mini-transcribe"}


@dataclass
class Fault:
    """A one-shot misbehaviour for the next matching request."""

    status: int = 500
    body: bytes | str | dict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    delay: float = 0.0  # sleep before answering (beyond the client's read timeout = a read timeout)
    drop: bool = False  # close the connection without an answer
    truncate: bool = False  # promise a longer body than is sent, then close
    process: bool = False  # handle the request normally first (e.g. create the job), then misbehave


@dataclass
class Logged:
    method: str
    path: str
    headers: dict[str, str]
    json: Any = None
    fields: dict[str, str] = field(default_factory=dict)
    file_field: str | None = None
    file_name: str | None = None
    file_size: int = 0
    file_sha256: str | None = None


@dataclass
class Job:
    id: str
    model: str
    created: float
    seconds: float
    outcome: str  # "ok" or "error"
    payload: Any
    name: str


def deepgram_payload(text: str = "Hello world. This is a test of the captions.", duration: float = 4.0,
                     speakers: bool = False) -> dict[str, Any]:
    tokens = text.split()
    step = duration / max(1, len(tokens))
    words = []
    for i, token in enumerate(tokens):
        word = {"word": token.strip(".,?!").lower(), "punctuated_word": token, "start": round(i * step, 3),
                "end": round(i * step + step * 0.8, 3), "confidence": 0.98}
        if speakers:
            word["speaker"] = 0 if i < len(tokens) // 2 else 1
        words.append(word)
    return {
        "metadata": {"transaction_key": "deprecated", "request_id": str(uuid.uuid4()), "sha256": "0" * 64,
                     "created": "2026-11-22T00:00:00Z", "duration": duration, "channels": 1,
                     "models": [], "model_info": {}},
        "results": {"channels": [{"alternatives": [{"transcript": text, "confidence": 0.98, "words": words}]}]},
    }


def assemblyai_payload(text: str = "Hello there. General Kenobi.") -> dict[str, Any]:
    tokens = text.split()
    words = [{"text": t, "start": i * 500, "end": i * 500 + 400, "confidence": 0.9,
              "speaker": "A" if i < 2 else "B"} for i, t in enumerate(tokens)]
    return {"id": str(uuid.uuid4()), "status": "completed", "text": text, "words": words,
            "utterances": [
                {"speaker": "A", "start": 0, "end": 900, "text": " ".join(tokens[:2]), "confidence": 0.9,
                 "words": words[:2]},
                {"speaker": "B", "start": 1000, "end": len(tokens) * 500, "text": " ".join(tokens[2:]),
                 "confidence": 0.9, "words": words[2:]},
            ],
            "audio_duration": len(tokens) * 0.5, "language_code": "en_us"}


def openai_payload(text: str = "Hello world, with no timestamps at all.") -> dict[str, Any]:
    return {"text": text, "usage": {"type": "tokens", "input_tokens": 10, "output_tokens": 8,
                                    "total_tokens": 18}}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up early (timeouts, Ctrl-C) are part of the tests, not noise


class FakeServer:
    """Base: threaded server, request log, one-shot faults keyed by "METHOD /path-prefix"."""

    def __init__(self) -> None:
        self.log: list[Logged] = []
        self.faults: list[tuple[str, Fault]] = []
        self.lock = threading.Lock()
        self.upload_rate: float | None = None  # bytes per second at which request bodies are read
        self.upload_started = threading.Event()  # set when a request body starts arriving
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                owner._dispatch(self, "GET")

            def do_POST(self) -> None:
                owner._dispatch(self, "POST")

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        # A short poll interval makes shutdown (once per test) take 50 ms instead of 500 ms.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def add_fault(self, route: str, fault: Fault, times: int = 1) -> None:
        with self.lock:
            self.faults.extend((route, fault) for _ in range(times))

    def requests(self, method: str, prefix: str) -> list[Logged]:
        return [r for r in self.log if r.method == method and r.path.startswith(prefix)]

    # -- plumbing -------------------------------------------------------------------------------

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for i, (route, fault) in enumerate(self.faults):
                m, _, prefix = route.partition(" ")
                if m == method and path.startswith(prefix):
                    del self.faults[i]
                    return fault
        return None

    def _dispatch(self, h: BaseHTTPRequestHandler, method: str) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = _read_chunked(h)
        elif length and self.upload_rate:
            self.upload_started.set()
            body = _read_slowly(h, length, self.upload_rate)
        else:
            if length:
                self.upload_started.set()
            body = h.rfile.read(length) if length else b""
        if len(body) < length:  # the client hung up mid-upload: like any server, there is no request
            h.close_connection = True
            return
        entry = Logged(method=method, path=h.path, headers={k.lower(): v for k, v in h.headers.items()})
        ctype = h.headers.get("Content-Type", "")
        if ctype.startswith("application/json") and body:
            try:
                entry.json = json.loads(body)
            except ValueError:
                entry.json = None
        elif ctype.startswith("multipart/form-data"):
            _parse_multipart(body, ctype, entry)
        with self.lock:
            self.log.append(entry)
        fault = self._take_fault(method, h.path)
        if fault is not None and not fault.process:
            return self._misbehave(h, fault)
        status, payload, headers = self.handle(method, h.path, entry)
        if fault is not None:
            return self._misbehave(h, fault)
        self._send(h, status, payload, headers)

    def handle(self, method: str, path: str, req: Logged) -> tuple[int, Any, dict[str, str]]:
        raise NotImplementedError

    def _send(self, h: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        if isinstance(payload, bytes):
            data = payload
        elif isinstance(payload, str):
            data = payload.encode()
        else:
            data = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def _misbehave(self, h: BaseHTTPRequestHandler, fault: Fault) -> None:
        if fault.delay:
            time.sleep(fault.delay)
        if fault.drop:
            h.close_connection = True
            h.connection.shutdown(2)
            return
        body = fault.body if fault.body is not None else {"message": "Internal server error",
                                                          "statusCode": fault.status}
        data = body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else \
            json.dumps(body).encode()
        h.send_response(fault.status)
        h.send_header("Content-Type", fault.content_type)
        h.send_header("Content-Length", str(len(data) * (2 if fault.truncate else 1)))
        for k, v in fault.headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data[: len(data) // 2] if fault.truncate else data)
        if fault.truncate:
            h.close_connection = True
            h.wfile.flush()
            h.connection.shutdown(2)


def _read_slowly(h: BaseHTTPRequestHandler, length: int, rate: float) -> bytes:
    """Read a body at ``rate`` bytes per second, like an upload over a slow link."""
    chunks, left, step = [], length, max(1, int(rate / 20))
    while left > 0:
        chunk = h.rfile.read(min(step, left))
        if not chunk:  # the client gave up mid-upload
            break
        chunks.append(chunk)
        left -= len(chunk)
        time.sleep(len(chunk) / rate)
    return b"".join(chunks)


def _read_chunked(h: BaseHTTPRequestHandler) -> bytes:
    out = b""
    while True:
        size = int(h.rfile.readline().strip() or b"0", 16)
        if size == 0:
            h.rfile.readline()
            return out
        out += h.rfile.read(size)
        h.rfile.readline()


def _parse_multipart(body: bytes, ctype: str, entry: Logged) -> None:
    for part in MultipartDecoder(body, ctype).parts:
        disposition = part.headers.get(b"Content-Disposition", b"").decode()
        params = dict(
            p.strip().split("=", 1) for p in disposition.split(";")[1:] if "=" in p
        )
        name = params.get("name", "").strip('"')
        if "filename" in params:
            entry.file_field = name
            entry.file_name = params["filename"].strip('"')
            entry.file_size = len(part.content)
            entry.file_sha256 = hashlib.sha256(part.content).hexdigest()
        else:
            if name in entry.fields:  # repeated fields such as timestamp_granularities[]
                entry.fields[name] += "," + part.text
            else:
                entry.fields[name] = part.text


def aiml_error(status: int, message: str | list[str], path: str) -> dict[str, Any]:
    return {"message": message, "path": path, "requestId": str(uuid.uuid4()), "statusCode": status,
            "timestamp": "2026-11-22T00:00:00.000Z"}


class FakeAiml(FakeServer):
    """The AIML async API: ``POST /v1/stt/create`` and ``GET /v1/stt/{id}``.

    Settings: ``job_seconds`` (time until a job completes), ``result_key`` ("result" or "output"),
    ``id_key`` for the job answer, ``pending_status`` (e.g. "queued", "waiting", "active"),
    ``payload_for(job)`` to choose the result shape. An uploaded file or URL whose name contains
    "fail" produces a job that ends in ``error``; one containing "slow" takes ``slow_seconds``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[str, Job] = {}
        self.job_seconds = 0.0
        self.slow_seconds = 5.0
        self.result_key = "result"
        self.id_key = "generation_id"
        self.pending_status = "queued"
        self.payload: Any = None  # None: a Deepgram-style payload
        self.create_delay = 0.0  # seconds between creating a job and answering with its id

    def handle(self, method: str, path: str, req: Logged) -> tuple[int, Any, dict[str, str]]:
        if req.headers.get("authorization") != f"Bearer {API_KEY}":
            if req.headers.get("authorization") == "Bearer no-credits":
                return 403, aiml_error(403, "Insufficient credits", path), {}
            return 401, aiml_error(401, "Unauthorized", path), {}
        if method == "POST" and path == "/v1/stt/create":
            return self._create(path, req)
        if method == "GET" and path.startswith("/v1/stt/"):
            return self._get(path.rsplit("/", 1)[-1])
        return 404, aiml_error(404, f"Cannot {method} {path}", path), {}

    def _create(self, path: str, req: Logged) -> tuple[int, Any, dict[str, str]]:
        data = req.json if req.json is not None else req.fields
        if not isinstance(data, dict) or not data.get("model"):
            return 400, aiml_error(400, ["model must be a string", "Body validation error!"], path), {}
        model = data["model"]
        if model.startswith("bogus"):
            return 400, aiml_error(400, f"Body validation error! model: Invalid enum value. Received "
                                        f"'{model}'", path), {}
        has_url, has_file = bool(data.get("url")), req.file_field is not None
        if has_url == has_file:
            return 400, aiml_error(400, "Exactly one of url or file must be provided", path), {}
        if has_file:
            expected = "file" if model in FILE_FIELD_MODELS else "audio"
            if req.file_field != expected:
                return 400, aiml_error(400, f"Body validation error! '{expected}' is required", path), {}
            if req.file_size == 0:
                return 400, aiml_error(400, "File is empty", path), {}
        name = data.get("url") or req.file_name or ""
        job_id = str(uuid.uuid4())
        seconds = self.slow_seconds if "slow" in name else self.job_seconds
        outcome = "error" if "fail" in name else "ok"
        if self.payload is not None:
            payload = self.payload
        elif model in FILE_FIELD_MODELS:
            payload = openai_payload()
        elif model.startswith("aai/"):
            payload = assemblyai_payload()
        else:
            payload = deepgram_payload()
        with self.lock:
            self.jobs[job_id] = Job(job_id, model, time.monotonic(), seconds, outcome, payload, name)
        time.sleep(self.create_delay)
        return 201, {"generation_id": job_id}, {}

    def _get(self, job_id: str) -> tuple[int, Any, dict[str, str]]:
        job = self.jobs.get(job_id)
        if job is None:
            return 404, aiml_error(404, "Generation not found", f"/v1/stt/{job_id}"), {}
        body: dict[str, Any] = {self.id_key: job_id}
        if time.monotonic() - job.created < job.seconds:
            body.update(status=self.pending_status, **{self.result_key: None}, error=None)
        elif job.outcome == "error":
            body.update(status="error", **{self.result_key: None},
                        error={"name": "TranscriptionError", "message": "Audio file could not be decoded"})
        else:
            body.update(status="completed", **{self.result_key: job.payload}, error=None)
        return 200, body, {}
