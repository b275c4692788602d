"""OpenAI-compatible ``/audio/transcriptions`` servers (placeholder until the provider lands)."""

from __future__ import annotations

from stt_cli.errors import UsageError


class OpenAIProvider:
    name = "openai"
    is_async = False

    def __init__(self, http, *, upload_progress=None, max_upload_mb=None):  # noqa: ANN001
        raise UsageError("the openai provider is not available yet")
