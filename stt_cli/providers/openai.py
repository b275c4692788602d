"""OpenAI-compatible ``POST {base}/audio/transcriptions`` servers: one synchronous multipart request.

The same endpoint is served by OpenAI, Groq, speaches / faster-whisper-server, whisper.cpp's server,
LocalAI and vLLM. The answer *is* the transcript, so there is nothing to poll: ``submit`` returns a
completed ``JobState`` under a local id and the ledger is the only place that job exists.

Captions are rendered locally from ``verbose_json`` (words and segments) rather than asking servers for
srt/vtt, which many compatible servers do not implement. The raw payload (a dict, or a ``str`` for
servers that answer ``text/plain``) is returned untouched; ``stt_cli.transcript.normalize`` reads it.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, BinaryIO, ClassVar
from urllib.parse import unquote, urlsplit

from stt_cli.errors import (
    ApiError,
    BadResponseError,
    ExitCode,
    JobFailedError,
    NetworkError,
    NoTimestampsError,
    UsageError,
    job_may_exist,
)
from stt_cli.http import (
    RETRY_STATUSES,
    Http,
    Response,
    backoff_delay,
    describe_body,
    error_message,
    parse_retry_after,
)
from stt_cli.inputs import AUDIO_EXTENSIONS, AudioSource, describe_non_audio, looks_like_audio
from stt_cli.providers.base import COMPLETED, JobOptions, JobState, UploadProgress, is_text_only_model
from stt_cli.providers.upload import check_upload_size, multipart_factory

ENDPOINT = "audio/transcriptions"
DEFAULT_MAX_UPLOAD_MB = 25.0  # OpenAI's request limit is 26214400 bytes; 25 MB of audio leaves room for the form
LOCAL_ID_PREFIX = "local-"

# A 400/422 naming the format parameters means the server (or model) will not do verbose_json. Nothing
# vaguer counts: "model X is not supported" or "temperature is not supported" would fail again with json.
_FORMAT_REFUSAL = re.compile(r"response[_ ]format|verbose_json|timestamp_granularit", re.IGNORECASE)
# Hosted services that always need a key: without one, fail before uploading up to 25 MB for a 401.
KEYED_HOSTS = frozenset({"api.openai.com", "api.groq.com"})

# Sniffed container -> extension for downloads whose URL has none: servers pick the decoder by file name.
_MAGIC_EXTENSIONS = ((b"RIFF", "wav"), (b"fLaC", "flac"), (b"OggS", "ogg"), (b"ID3", "mp3"),
                     (b"\x1a\x45\xdf\xa3", "webm"), (b"#!AMR", "amr"))
_TYPE_EXTENSIONS = {
    "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav",
    "audio/vnd.wave": "wav", "audio/flac": "flac", "audio/x-flac": "flac", "audio/ogg": "ogg",
    "audio/opus": "ogg", "audio/webm": "webm", "video/webm": "webm", "audio/mp4": "m4a", "audio/m4a": "m4a",
    "audio/x-m4a": "m4a", "video/mp4": "mp4", "audio/aac": "aac", "video/quicktime": "mov",
}


def _ignore(_message: str) -> None:
    pass


# Models that answer ``json`` only (no ``verbose_json``, so no timestamps).
is_json_only_model = is_text_only_model


def rejects_verbose_json(exc: ApiError) -> bool:
    """Does this error say the server or model cannot answer ``verbose_json``?

    FastAPI servers validate the enum with a 422 rather than a 400, so both count.
    """
    return exc.status in (400, 422) and bool(_FORMAT_REFUSAL.search(exc.message))


def read_payload(resp: Response) -> Any:
    """The answer as JSON, or as text for servers that answer ``text/plain`` (whisper.cpp, ``text``)."""
    head = resp.content.lstrip()[:1]
    if resp.content_type.endswith("json") or head in (b"{", b"["):
        payload = resp.json()
        # whisper.cpp answers some failures (an unreadable WAV) with HTTP 200 and an error body.
        if isinstance(payload, dict) and payload.get("error") and not ({"text", "segments"} & payload.keys()):
            raise JobFailedError(f"the server could not transcribe the audio: {error_message(payload)}",
                                 hint="the audio may be unsupported or corrupt; try converting it to wav or mp3")
        return payload
    if not resp.content.strip() or resp.content_type == "text/html" or \
            resp.content.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        raise BadResponseError(f"the server sent no transcript ({describe_body(resp)})",
                               hint="check --base-url; run with --verbose to see the request")
    return resp.content.decode("utf-8", "replace")


def shown_url(url: str) -> str:
    """The URL without its query: presigned links carry credentials that do not belong in messages."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?…" if parts.query else "")


@dataclass
class _Renamed(AudioSource):
    """A local source uploaded under another name (stdin has none; servers pick the decoder by extension)."""

    upload_name: str = "audio.bin"

    @property
    def filename(self) -> str:
        return self.upload_name

    @property
    def extension(self) -> str:
        return self.upload_name.rpartition(".")[2].lower()


def named_for_upload(source: AudioSource) -> AudioSource:
    """stdin would go up as ``stdin.bin``, which OpenAI refuses: name it after its sniffed container."""
    if source.kind != "stdin" or source.path is None:
        return source
    with open(source.path, "rb") as fh:
        head = fh.read(512)
    ext = sniff_extension(head)
    if ext is None:
        return source
    return _Renamed(kind="file", name=source.name, path=source.path, upload_name=f"{source.stem}.{ext}")


class _Sink:
    """Writes a download to disk, refusing it as soon as it outgrows the upload limit."""

    def __init__(self, fh: BinaryIO, limit_mb: float, name: str):
        self.fh = fh
        self.limit_mb = limit_mb
        self.limit = int(limit_mb * 1000 * 1000)
        self.name = name
        self.size = 0
        self.head = b""

    def reset(self) -> None:
        # Each attempt starts over: a half-read body (or an error page) must not prefix the audio.
        self.fh.seek(0)
        self.fh.truncate()
        self.size = 0
        self.head = b""

    def __call__(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise UsageError(f"{self.name} is over the {self.limit_mb:g} MB upload limit (stopped downloading "
                             f"at {self.size / 1e6:.1f} MB)",
                             hint="download and compress it (e.g. ffmpeg -i in.wav -ac 1 -b:a 64k out.mp3), "
                             "or raise --max-upload-mb if the server allows more")
        if len(self.head) < 512:
            self.head += chunk[: 512 - len(self.head)]
        self.fh.write(chunk)


class OpenAIProvider:
    name = "openai"
    is_async = False

    # (base_url, model) pairs whose server refused verbose_json: later inputs of a batch go straight to
    # json instead of uploading twice. Shared by the per-input provider instances of one run.
    _json_only: ClassVar[set[tuple[str, str]]] = set()
    _json_only_lock = threading.Lock()

    def __init__(self, http: Http, *, upload_progress: UploadProgress | None = None,
                 max_upload_mb: float | None = None, warn: Callable[[str], None] = _ignore):
        self.http = http
        self.upload_progress = upload_progress
        self.max_upload_mb = max_upload_mb if max_upload_mb is not None else DEFAULT_MAX_UPLOAD_MB
        self.warn = warn

    def submit(self, source: AudioSource, options: JobOptions) -> JobState:
        if source.kind == "url":
            with self.downloaded(source) as local:
                payload = self.transcribe(local, options)
        else:
            check_upload_size(source, self.max_upload_mb)
            payload = self.transcribe(named_for_upload(source), options)
        return JobState(f"{LOCAL_ID_PREFIX}{uuid.uuid4().hex}", COMPLETED, "completed", result=payload)

    def poll(self, job_id: str) -> JobState:
        # Jobs answered at once exist only in the local ledger; the CLI serves those without calling us.
        raise UsageError(f"unknown job id {job_id!r}: OpenAI-style servers keep no jobs, and this one is not "
                         "in the local ledger", hint="`stt status` lists local jobs")

    # -- the request ----------------------------------------------------------------------------

    def transcribe(self, source: AudioSource, options: JobOptions) -> Any:
        """Upload once with verbose_json where the model allows it; on a format refusal, once with json."""
        key = (self.http.base_url, options.model)
        if options.needs_timestamps and key in self._json_only:
            raise no_verbose_json(options.model)
        verbose = not is_json_only_model(options.model) and key not in self._json_only
        try:
            return self._post(source, options, verbose=verbose)
        except ApiError as exc:
            if not verbose or not rejects_verbose_json(exc):
                raise
        with self._json_only_lock:
            first = key not in self._json_only
            self._json_only.add(key)
        if options.needs_timestamps:  # a json answer could not make the captions asked for: don't pay for it
            raise no_verbose_json(options.model)
        if first:
            self.warn(f"the server refused verbose_json for model {options.model}; asking for json instead, "
                      "so captions (srt/vtt) are unavailable for this model")
        return self._post(source, options, verbose=False)

    def _post(self, source: AudioSource, options: JobOptions, *, verbose: bool) -> Any:
        fields: dict[str, Any] = {"model": options.model}
        if options.language:
            fields["language"] = options.language
        if options.prompt:
            fields["prompt"] = options.prompt
        if options.temperature is not None:
            fields["temperature"] = f"{options.temperature:g}"
        if verbose:
            fields["response_format"] = "verbose_json"
            fields["timestamp_granularities[]"] = ["word", "segment"]
        else:
            fields["response_format"] = "json"
        fields.update(options.extra)
        body = multipart_factory(source, options.file_field or "file", fields, self.upload_progress)
        try:
            resp = self.http.request("POST", ENDPOINT, retry="create", body_factory=body,
                                     headers={"Accept": "application/json, text/plain;q=0.9"})
        except ApiError as exc:
            if exc.status == 413:
                size = source.size or 0
                exc.hint = (f"the file is {size / 1e6:.1f} MB and this server's limit is lower than "
                            f"{self.max_upload_mb:g} MB: compress it (e.g. ffmpeg -i in.wav -ac 1 -b:a 64k "
                            "out.mp3), or set --max-upload-mb to the server's limit to catch this before "
                            "uploading")
            raise
        try:
            return read_payload(resp)
        except BadResponseError as exc:  # answered 2xx: the transcription ran (and may be billed)
            raise job_may_exist(exc) from None

    # -- URL input ------------------------------------------------------------------------------

    @contextmanager
    def downloaded(self, source: AudioSource) -> Iterator[AudioSource]:
        """The URL's audio in a temporary file (removed afterwards): the endpoint takes no URLs."""
        url = source.url or source.name
        folder = Path(tempfile.mkdtemp(prefix="stt-url-"))
        try:
            partial = folder / "download.part"
            with open(partial, "wb") as fh:
                sink = _Sink(fh, self.max_upload_mb, shown_url(url))
                resp = self._fetch(url, sink)
            if sink.size == 0:
                raise UsageError(f"{shown_url(url)} is empty (the server sent no audio)")
            what = describe_non_audio(sink.head)
            if what is not None or resp.content_type == "text/html" and not looks_like_audio(sink.head):
                raise UsageError(f"{shown_url(url)} is not audio (the server sent "
                                 f"{resp.content_type or what})",
                                 hint="link to the audio file itself, not to a page about it")
            path = folder / download_name(url, resp.content_type, sink.head)
            partial.rename(path)
            yield AudioSource(kind="file", name=source.name, path=path)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _fetch(self, url: str, sink: _Sink) -> Response:
        """GET the URL with a key-less client: the audio host is a third party and must not see our key.

        Retries here rather than in ``Http``, because each attempt must restart the file from byte 0.
        """
        getter = Http(url, None, retries=0, log=self.http.log)
        try:
            attempt = 0
            while True:
                sink.reset()
                try:
                    resp = getter.request("GET", url, allow_error=True, stream_to=sink)
                except NetworkError as exc:
                    if attempt >= self.http.retries:
                        # Http's hints speak of --base-url; this host is the one in the user's URL.
                        raise NetworkError(f"cannot download {shown_url(url)}: {exc.message}",
                                           hint="check the URL, and that this machine can reach its host") from None
                    reason, delay = exc.message, backoff_delay(attempt, None)
                else:
                    if resp.status < 400:
                        return resp
                    if resp.status not in RETRY_STATUSES or attempt >= self.http.retries:
                        raise download_error(url, resp.status)
                    reason = f"HTTP {resp.status}"
                    delay = backoff_delay(attempt, parse_retry_after(resp.headers))
                attempt += 1
                note = (f"retrying the download in {delay:.1f}s ({reason}; attempt {attempt + 1} of "
                        f"{self.http.retries + 1})")
                self.http.log(f"! {note}")
                self.http.on_retry(note)
                time.sleep(delay)
        finally:
            getter.close()


def no_verbose_json(model: str) -> NoTimestampsError:
    return NoTimestampsError(f"the server refused verbose_json for model {model}, so it returns no timestamps "
                             "and cannot make captions",
                             hint="use a model or server that answers verbose_json (whisper-family models "
                             "do), or ask for -f text / -f json")


def key_required(base_url: str) -> bool:
    return urlsplit(base_url).hostname in KEYED_HOSTS


def download_error(url: str, status: int) -> ApiError:
    try:
        phrase = f" {HTTPStatus(status).phrase}"
    except ValueError:
        phrase = ""
    message = f"cannot download {shown_url(url)}: HTTP {status}{phrase}"
    if status in (401, 403):
        return ApiError(message, status=status, exit_code=ExitCode.USAGE,
                        hint="the link needs credentials or has expired; download it and pass the file")
    if status < 500:
        return ApiError(message, status=status, exit_code=ExitCode.USAGE, hint="check the URL")
    return ApiError(message, status=status, hint="the audio host is failing; try again later")


def download_name(url: str, content_type: str, head: bytes) -> str:
    """A file name for the upload: servers choose the decoder by its extension."""
    tail = Path(unquote(urlsplit(url).path)).name
    stem, _, ext = tail.rpartition(".") if "." in tail else (tail, "", "")
    stem = re.sub(r"[^\w.-]", "_", stem)[:100].strip("._") or "audio"
    if ext.lower() in AUDIO_EXTENSIONS:
        return f"{stem}.{ext.lower()}"
    return f"{stem}.{sniff_extension(head) or _TYPE_EXTENSIONS.get(content_type, 'bin')}"


def sniff_extension(head: bytes) -> str | None:
    """The extension matching the audio container these leading bytes start, if known."""
    for magic, ext in _MAGIC_EXTENSIONS:
        if head.startswith(magic):
            return ext
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "m4a"
    if head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "mp3"
    return None
