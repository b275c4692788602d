"""The interface every provider implements, and the job state they report."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from stt_cli.errors import NoTimestampsError
from stt_cli.inputs import AudioSource

PENDING, COMPLETED, FAILED = "pending", "completed", "failed"
CAPTION_FORMATS = ("srt", "vtt")

# gpt-4o(-mini)-transcribe, with dated or "openai/"-prefixed variants, answer text only: no timestamps.
_TEXT_ONLY_MODEL = re.compile(r"^(?:openai/)?gpt-4o(?:-mini)?-transcribe(?:-.+)?$", re.IGNORECASE)


def is_text_only_model(model: str) -> bool:
    """True for models documented to return text only (no timestamps), on either provider."""
    return bool(_TEXT_ONLY_MODEL.match(model.strip()))


def check_formats(model: str, formats: list[str]) -> None:
    """Refuse captions from a text-only model before uploading (and paying for) anything."""
    captions = [f for f in formats if f in CAPTION_FORMATS]
    if captions and is_text_only_model(model):
        raise NoTimestampsError(f"model {model} returns no timestamps, so it cannot make "
                                f"{'/'.join(captions)} captions",
                                hint="use a whisper or nova model for captions (e.g. -m whisper-1 on openai, "
                                "-m '#g1_nova-2-general' on aiml), or ask for -f text / -f json")

# Called with (bytes_sent, total_bytes) while an upload streams.
UploadProgress = Callable[[int, int], None]


@dataclass
class JobOptions:
    model: str
    language: str | None = None
    prompt: str | None = None
    temperature: float | None = None
    file_field: str | None = None  # override the multipart field name for the audio
    extra: dict[str, str] = field(default_factory=dict)
    # Captions were asked for: a provider that can only answer without timestamps should stop before
    # paying for an answer that cannot be used. Not part of the ledger key: the audio and model decide.
    needs_timestamps: bool = False

    def ledger_key(self) -> dict[str, Any]:
        """What makes two submissions of the same audio equivalent (used to resume, never to bill twice)."""
        return {k: v for k, v in {
            "model": self.model, "language": self.language, "prompt": self.prompt,
            "temperature": self.temperature, "extra": self.extra or None,
        }.items() if v is not None}


@dataclass
class JobState:
    """What the server says about a job. ``state`` is pending/completed/failed; ``status`` is verbatim."""

    job_id: str
    state: str
    status: str
    result: Any = None
    error: str | None = None


class Provider(Protocol):
    name: str
    # Async providers return a pending job from submit and are polled; sync ones answer at once.
    is_async: bool

    def submit(self, source: AudioSource, options: JobOptions) -> JobState: ...

    def poll(self, job_id: str) -> JobState: ...
