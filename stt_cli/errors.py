"""Exit codes and the error hierarchy.

Every failure the user can cause or meet is an ``SttError`` carrying its exit code and an optional hint;
``cli.main`` is the one place that turns them into ``stt: error: …`` lines.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1
    USAGE = 2
    CONFIG = 3
    PENDING = 4
    JOB_FAILED = 5
    PARTIAL = 6
    INTERRUPTED = 130


class SttError(Exception):
    """Base class: a message for the user, an exit code and an optional hint."""

    exit_code: ExitCode = ExitCode.FAILURE
    # Set when a job creation failed in a way that leaves its outcome unknown (read timeout, 5xx, an
    # unreadable answer): the server may hold a billed job whose id never arrived.
    job_may_exist: bool = False

    def __init__(self, message: str, *, hint: str | None = None, exit_code: ExitCode | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(SttError):
    """Bad arguments or bad input (missing file, bad URL, unknown format)."""

    exit_code = ExitCode.USAGE


class ConfigError(SttError):
    """Missing or rejected credentials, unreadable config."""

    exit_code = ExitCode.CONFIG


class AuthError(ConfigError):
    """The server refused the key (401) or the account (403)."""


class NetworkError(SttError):
    """The server could not be reached or did not answer in time."""


class ApiError(SttError):
    """The server answered with an error."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None,
                 exit_code: ExitCode | None = None):
        super().__init__(message, hint=hint, exit_code=exit_code)
        self.status = status


class BadResponseError(SttError):
    """The server answered with something we cannot read (HTML, truncated JSON, unknown shape)."""


class JobPendingError(SttError):
    """The job has not finished yet (fetch without --wait, or --timeout reached)."""

    exit_code = ExitCode.PENDING


class JobFailedError(SttError):
    """The server reports the job as failed."""

    exit_code = ExitCode.JOB_FAILED


UNKNOWN_JOB_HINT = "the server may have created the job even so; its id never arrived, so a re-run submits it again"


def job_may_exist(exc: SttError) -> SttError:
    """Mark a failed creation whose outcome is unknown (see ``SttError.job_may_exist``)."""
    exc.job_may_exist = True
    exc.hint = UNKNOWN_JOB_HINT
    return exc


class NoTimestampsError(UsageError):
    """Captions were asked of a transcript that carries no timestamps."""
