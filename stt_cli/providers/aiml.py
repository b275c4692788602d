"""The AIML async speech-to-text API: ``POST /stt/create``, then ``GET /stt/{generation_id}``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from stt_cli.errors import ApiError, BadResponseError, ExitCode, job_may_exist
from stt_cli.http import Http
from stt_cli.inputs import AudioSource
from stt_cli.providers.base import COMPLETED, FAILED, PENDING, JobOptions, JobState, UploadProgress
from stt_cli.providers.upload import check_upload_size, multipart_factory

# These two models take the audio under ``file``; every other model under ``audio``.
FILE_FIELD_MODELS = frozenset({"openai/gpt-4o-transcribe", "openai/gpt-4o-mini-transcribe"})
DONE_STATUSES = {"completed": COMPLETED, "error": FAILED, "failed": FAILED}


def file_field_for(model: str) -> str:
    return "file" if model in FILE_FIELD_MODELS else "audio"


def parse_job_id(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("generation_id", "id"):
            value = body.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
                return str(value).strip()
    raise BadResponseError("the server accepted the job but sent no generation_id",
                           hint="run with --verbose to see the answer")


def job_error_message(error: Any) -> str:
    if isinstance(error, dict):
        message = error.get("message") or error.get("name")
        if isinstance(message, list):
            message = "; ".join(str(m) for m in message)
        if message:
            return str(message)
    if isinstance(error, str) and error.strip():
        return error.strip()
    return "no reason given"


def parse_job_state(body: Any, job_id: str) -> JobState:
    """Read a ``GET /stt/{id}`` answer: any status but completed/error/failed is still pending."""
    if not isinstance(body, dict):
        raise BadResponseError(f"unexpected answer for job {job_id}: expected a JSON object with a status")
    status = body.get("status")
    if not isinstance(status, str) or not status.strip():
        raise BadResponseError(f"the answer for job {job_id} has no status")
    state = DONE_STATUSES.get(status.strip().lower(), PENDING)
    if state == COMPLETED:
        result = body.get("result") if body.get("result") is not None else body.get("output")
        if result is None:
            raise BadResponseError(f"job {job_id} is completed but the answer holds no result or output")
        return JobState(job_id, COMPLETED, status, result=result)
    if state == FAILED:
        return JobState(job_id, FAILED, status, error=job_error_message(body.get("error")))
    return JobState(job_id, PENDING, status)


class AimlProvider:
    name = "aiml"
    is_async = True

    def __init__(self, http: Http, *, upload_progress: UploadProgress | None = None,
                 max_upload_mb: float | None = None):
        self.http = http
        self.upload_progress = upload_progress
        self.max_upload_mb = max_upload_mb

    def submit(self, source: AudioSource, options: JobOptions) -> JobState:
        fields = {"model": options.model, "language": options.language, "prompt": options.prompt,
                  **options.extra}
        if options.temperature is not None:
            fields["temperature"] = str(options.temperature)
        fields = {k: v for k, v in fields.items() if v is not None}
        if source.kind == "url":
            resp = self.http.request("POST", "stt/create", retry="create",
                                     json_body={**fields, "url": source.url})
        else:
            check_upload_size(source, self.max_upload_mb)
            field = options.file_field or file_field_for(options.model)
            resp = self.http.request("POST", "stt/create", retry="create",
                                     body_factory=multipart_factory(source, field, fields,
                                                                    self.upload_progress))
        try:
            body = resp.json()
            job_id = parse_job_id(body)
        except BadResponseError as exc:  # the server accepted the upload: a job may well exist
            raise job_may_exist(exc) from None
        return JobState(job_id, PENDING, str(body.get("status") or "queued"))

    def poll(self, job_id: str) -> JobState:
        try:
            # Quoted: an id is data, and "../create" must not become another endpoint.
            resp = self.http.request("GET", f"stt/{quote(job_id, safe='')}")
        except ApiError as exc:
            if exc.status == 404:
                raise ApiError(f"unknown job id {job_id!r} (HTTP 404)", status=404, exit_code=ExitCode.USAGE,
                               hint="the server keeps results for about an hour; `stt status` lists local "
                               "jobs") from None
            raise
        return parse_job_state(resp.json(), job_id)
