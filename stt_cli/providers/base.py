"""The interface every provider implements, and the job state they report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from stt_cli.inputs import AudioSource

PENDING, COMPLETED, FAILED = "pending", "completed", "failed"

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
