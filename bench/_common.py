"""Shared helpers for the benchmarks: an isolated environment, machine facts and figure lines.

Every benchmark runs ``stt`` as a subprocess with the Python that runs the benchmark, against servers on
127.0.0.1, with config and state folders in a temporary directory: a run never reads the user's config or
writes to their job ledger.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
PYCACHE = Path(tempfile.gettempdir()) / "stt-bench-pycache"

# Variables that would point stt somewhere else than the benchmark's own server and folders.
CLEARED = ("STT_API_KEY", "AIMLAPI_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "STT_BASE_URL", "STT_PROVIDER",
           "STT_MODEL", "STT_PROFILE", "STT_FORMAT", "STT_LANGUAGE", "STT_DEBUG", "NO_COLOR", "CI")


def stt_command() -> list[str]:
    """How a user runs stt: the console script, run by this interpreter (the same thing its shebang does)."""
    script = Path(sys.executable).parent / "stt"
    if script.exists():
        return [sys.executable, str(script)]
    return [sys.executable, "-m", "stt_cli"]


@contextmanager
def isolated_env(**extra: str) -> Iterator[dict[str, str]]:
    """An environment for stt subprocesses with throwaway config and state folders."""
    with tempfile.TemporaryDirectory(prefix="stt-bench-") as tmp:
        # An installed package has compiled .pyc files; PYTHONDONTWRITEBYTECODE (set in some shells and
        # CI images) would make every run recompile stt_cli from source and measure the compiler.
        # A cache prefix under /tmp keeps the repo free of __pycache__ folders.
        env = {k: v for k, v in os.environ.items() if k not in CLEARED and k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
        env["STT_CONFIG_DIR"] = str(Path(tmp) / "config")
        env["STT_STATE_DIR"] = str(Path(tmp) / "state")
        env.update(extra)
        yield env


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def header(title: str) -> None:
    print(f"== {title}")
    print(f"   machine: {machine()}")


def median(values: list[float]) -> float:
    return statistics.median(values)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def figure(name: str, value: str, baseline: str | None, ratio: float | None, goal: str, ok: bool | None,
           note: str = "") -> None:
    """One result line: the figure, what it is compared with, the ratio, and the goal with PASS/MISS."""
    parts = [f"{name}: {value}"]
    if baseline is not None:
        parts.append(f"baseline {baseline}")
    if ratio is not None:
        parts.append(f"ratio {ratio:.2f}x")
    parts.append(f"goal {goal}" + (f" -> {verdict(ok)}" if ok is not None else ""))
    print("   " + " | ".join(parts) + (f"  ({note})" if note else ""))


def write_wav(path: Path, variant: int = 0, seconds: float = 0.5, rate: int = 8000) -> Path:
    """A small, valid WAV (a tone). ``variant`` changes the content: the ledger resumes jobs whose audio
    hash it has seen, so inputs meant to be separate jobs must differ."""
    import math
    import struct
    import wave

    freq = 440 + variant
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / rate)))
                                 for i in range(int(rate * seconds))))
    return path
