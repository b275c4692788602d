"""Providers: one module per API behind the small ``Provider`` interface in ``base``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from stt_cli.providers.base import JobOptions, JobState, Provider, UploadProgress

if TYPE_CHECKING:
    from stt_cli.http import Http

__all__ = ["JobOptions", "JobState", "Provider", "make_provider"]


def make_provider(name: str, http: Http, *, upload_progress: UploadProgress | None = None,
                  max_upload_mb: float | None = None, warn: Callable[[str], None] | None = None) -> Provider:
    if name == "openai":
        from stt_cli.providers.openai import OpenAIProvider

        return OpenAIProvider(http, upload_progress=upload_progress, max_upload_mb=max_upload_mb,
                              warn=warn or (lambda _msg: None))
    from stt_cli.providers.aiml import AimlProvider

    return AimlProvider(http, upload_progress=upload_progress, max_upload_mb=max_upload_mb)
