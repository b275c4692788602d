"""Streamed multipart uploads: constant memory, a real Content-Length, progress callbacks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from requests_toolbelt.multipart.encoder import MultipartEncoder, MultipartEncoderMonitor

from stt_cli.errors import UsageError
from stt_cli.inputs import AudioSource
from stt_cli.providers.base import UploadProgress


def multipart_factory(source: AudioSource, file_field: str, fields: dict[str, Any],
                      progress: UploadProgress | None = None,
                      ) -> Callable[[], tuple[Any, dict[str, str]]]:
    """A builder of fresh bodies: a retried upload must start again from the first byte.

    ``fields`` values may be strings or lists of strings (repeated fields such as
    ``timestamp_granularities[]``).
    """

    def build() -> tuple[Any, dict[str, str]]:
        parts: list[tuple[str, Any]] = []
        for name, value in fields.items():
            for item in value if isinstance(value, list) else [value]:
                parts.append((name, str(item)))
        parts.append((file_field, (source.filename, source.open(), source.mimetype)))
        encoder = MultipartEncoder(fields=parts)
        body: Any = encoder
        if progress is not None:
            total = encoder.len
            body = MultipartEncoderMonitor(encoder, lambda m: progress(m.bytes_read, total))
        return body, {"Content-Type": encoder.content_type, "Content-Length": str(encoder.len)}

    return build


def check_upload_size(source: AudioSource, limit_mb: float | None) -> None:
    """Refuse a file over the provider's limit before sending a byte of it."""
    size = source.size
    if limit_mb is None or size is None:
        return
    limit = int(limit_mb * 1000 * 1000)
    if size > limit:
        raise UsageError(f"{source.name} is {size / 1e6:.1f} MB, over the {limit_mb:g} MB upload limit",
                         hint="compress it (e.g. ffmpeg -i in.wav -ac 1 -b:a 64k out.mp3) or raise "
                         "--max-upload-mb if the server allows more")
