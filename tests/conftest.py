"""Every test owns its world: its own config and state folders, and its own servers."""

from __future__ import annotations

import math
import os
import struct
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import API_KEY, FakeAiml

CLEARED = ("STT_API_KEY", "AIMLAPI_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "STT_BASE_URL", "STT_PROVIDER",
           "STT_MODEL", "STT_PROFILE", "STT_FORMAT", "STT_LANGUAGE", "STT_DEBUG", "NO_COLOR", "CI")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("STT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("STT_READ_TIMEOUT", "5")
    monkeypatch.setenv("STT_CONNECT_TIMEOUT", "2")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def aiml(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAiml]:
    server = FakeAiml().start()
    monkeypatch.setenv("STT_BASE_URL", server.base_url)
    monkeypatch.setenv("STT_API_KEY", API_KEY)
    yield server
    server.stop()


@pytest.fixture
def dead_server(monkeypatch: pytest.MonkeyPatch) -> int:
    """A base URL on a port nobody listens on: every connection is refused."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("STT_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("STT_API_KEY", API_KEY)
    return port


def make_wav(path: Path, seconds: float = 0.5, rate: int = 8000) -> Path:
    """A real (tiny) WAV file: a 440 Hz tone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        frames = b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(int(rate * seconds))
        )
        out.writeframes(frames)
    return path


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    return make_wav(tmp_path / "talk.wav")


@pytest.fixture
def state_dir() -> Path:
    return Path(os.environ["STT_STATE_DIR"])
