"""The four commands end to end against the fake AIML server: the contract scripts rely on."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import make_wav
from tests.helpers import run_cli
from tests.servers import API_KEY, Fault, assemblyai_payload

FAST = ("--poll-interval", "0.05")


def test_transcribe_file_prints_text(aiml, wav):
    r = run_cli("transcribe", wav, *FAST)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "Hello world. This is a test of the captions.\n"
    (create,) = aiml.requests("POST", "/v1/stt/create")
    assert create.file_field == "audio"
    assert create.fields == {"model": "#g1_nova-2-general"}
    assert create.file_sha256 is not None and create.file_size == wav.stat().st_size
    assert "content-length" in create.headers and "transfer-encoding" not in create.headers


def test_transcribe_url_sends_json_with_url(aiml):
    r = run_cli("transcribe", "https://example.com/audio/talk.mp3", "-l", "en", "--prompt", "names: Kenobi",
                *FAST)
    assert r.exit_code == 0, r.stderr
    (create,) = aiml.requests("POST", "/v1/stt/create")
    assert create.json == {"model": "#g1_nova-2-general", "url": "https://example.com/audio/talk.mp3",
                           "language": "en", "prompt": "names: Kenobi"}


def test_transcribe_stdin(aiml, wav):
    r = run_cli("transcribe", "-", *FAST, stdin=wav.read_bytes())
    assert r.exit_code == 0, r.stderr
    (create,) = aiml.requests("POST", "/v1/stt/create")
    import hashlib

    assert create.file_sha256 == hashlib.sha256(wav.read_bytes()).hexdigest()
    assert r.stdout.startswith("Hello world.")


def test_gpt4o_models_upload_under_file(aiml, wav):
    r = run_cli("transcribe", wav, "-m", "openai/gpt-4o-transcribe", *FAST)
    assert r.exit_code == 0, r.stderr
    (create,) = aiml.requests("POST", "/v1/stt/create")
    assert create.file_field == "file"
    assert r.stdout == "Hello world, with no timestamps at all.\n"


def test_submit_prints_only_the_id_then_status_and_fetch(aiml, wav):
    r = run_cli("submit", wav)
    assert r.exit_code == 0, r.stderr
    job_id = r.stdout.strip()
    assert r.stdout == f"{job_id}\n" and job_id in aiml.jobs
    assert aiml.requests("GET", "/v1/stt/") == []  # submit does not poll
    r = run_cli("status", job_id)
    assert (r.exit_code, r.stdout) == (0, f"{job_id}\tcompleted\n")
    r = run_cli("fetch", job_id, "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["text"].startswith("Hello world.")


def test_status_without_ids_lists_the_ledger(aiml, wav):
    job_id = run_cli("submit", wav).stdout.strip()
    r = run_cli("status")
    assert r.exit_code == 0
    fields = r.stdout.strip().split("\t")
    assert fields[0] == job_id and fields[2] == str(wav.resolve()) and fields[3] == "#g1_nova-2-general"
    r = run_cli("status", "--json")
    assert json.loads(r.stdout)["job_id"] == job_id


def test_fetch_pending_job_exits_4_and_wait_polls(aiml, wav):
    aiml.job_seconds = 0.6
    job_id = run_cli("submit", wav).stdout.strip()
    r = run_cli("fetch", job_id)
    assert r.exit_code == 4
    assert r.stderr.startswith(f"stt: error: job {job_id} is still queued")
    assert "--wait" in r.stderr
    r = run_cli("fetch", job_id, "--wait", *FAST)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("Hello world.")


def test_fetch_serves_cached_result_without_a_request(aiml, wav):
    r = run_cli("transcribe", wav, "-f", "json", *FAST)
    job_id = json.loads(r.stdout)["job_id"]
    before = len(aiml.log)
    r = run_cli("fetch", job_id, "-f", "srt")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("1\n00:00:00,000 --> ")
    assert len(aiml.log) == before


@pytest.mark.parametrize("status", ["waiting", "active", "processing", "generating"])
def test_output_key_id_key_and_pending_statuses(aiml, wav, status):
    aiml.result_key, aiml.id_key, aiml.pending_status = "output", "id", status
    aiml.job_seconds = 0.3
    r = run_cli("transcribe", wav, *FAST)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("Hello world.")


def test_assemblyai_shape(aiml, wav):
    aiml.payload = assemblyai_payload()
    r = run_cli("transcribe", wav, "-m", "aai/best", *FAST)
    assert r.exit_code == 0, r.stderr
    assert "Hello there." in r.stdout and "General Kenobi." in r.stdout


def test_ledger_records_job_before_polling(aiml, wav, state_dir):
    aiml.job_seconds = 30
    r = run_cli("transcribe", wav, "--timeout", "0.2", *FAST)
    assert r.exit_code == 4
    (job_id,) = aiml.jobs
    assert f"job {job_id} is still queued" in r.stderr
    assert f"stt fetch {job_id} --wait" in r.stderr
    row = sqlite3.connect(state_dir / "jobs.sqlite3").execute(
        "SELECT id, provider, model, input, status, options FROM jobs").fetchone()
    assert row[:5] == (job_id, "aiml", "#g1_nova-2-general", str(wav.resolve()), "queued")


# -- errors and exit codes ---------------------------------------------------------------------------


def test_job_error_exits_5_with_message(aiml, tmp_path):
    bad = make_wav(tmp_path / "fail.wav")
    r = run_cli("transcribe", bad, *FAST)
    assert r.exit_code == 5
    assert "failed on the server: Audio file could not be decoded" in r.stderr
    assert "Traceback" not in r.stderr


def test_no_key_exits_3(aiml, wav, monkeypatch):
    monkeypatch.delenv("STT_API_KEY")
    r = run_cli("transcribe", wav)
    assert r.exit_code == 3
    assert r.stderr.splitlines()[0] == "stt: error: no API key for the aiml provider"
    assert aiml.log == []


def test_bad_key_exits_3(aiml, wav, monkeypatch):
    monkeypatch.setenv("STT_API_KEY", "wrong-key")
    r = run_cli("transcribe", wav)
    assert r.exit_code == 3
    assert "rejected the API key (HTTP 401): Unauthorized" in r.stderr
    assert "wrong-key" not in r.stderr


def test_no_credits_exits_3(aiml, wav, monkeypatch):
    monkeypatch.setenv("STT_API_KEY", "no-credits")
    r = run_cli("transcribe", wav)
    assert r.exit_code == 3
    assert "HTTP 403): Insufficient credits" in r.stderr


def test_validation_error_list_is_shown(aiml, wav):
    r = run_cli("transcribe", wav, "-m", "bogus-model")
    assert r.exit_code == 2
    assert "HTTP 400): Body validation error! model: Invalid enum value" in r.stderr


def test_unknown_job_id_exits_2(aiml):
    r = run_cli("fetch", "no-such-job")
    assert r.exit_code == 2
    assert "unknown job id 'no-such-job'" in r.stderr
    r = run_cli("status", "no-such-job")
    assert r.exit_code == 2


def test_connection_refused_exits_1(wav, dead_server):
    port = dead_server
    r = run_cli("transcribe", wav, "--retries", "0")
    assert r.exit_code == 1
    assert f"connection refused by 127.0.0.1:{port}" in r.stderr


def test_dns_failure_exits_1(wav, monkeypatch):
    monkeypatch.setenv("STT_BASE_URL", "http://no-such-host.invalid/v1")
    monkeypatch.setenv("STT_API_KEY", API_KEY)
    r = run_cli("transcribe", wav, "--retries", "0")
    assert r.exit_code == 1
    assert "cannot resolve host 'no-such-host.invalid'" in r.stderr


def test_html_error_page(aiml, wav):
    aiml.add_fault("POST /v1/stt/create", Fault(status=502, body="<!DOCTYPE html><html>Bad gateway</html>",
                                                content_type="text/html"))
    r = run_cli("transcribe", wav, "--retries", "0")
    assert r.exit_code == 1
    assert "server error (HTTP 502): an HTML page" in r.stderr


def test_read_timeout(aiml, wav, monkeypatch):
    monkeypatch.setenv("STT_READ_TIMEOUT", "0.3")
    aiml.add_fault("GET /v1/stt/", Fault(delay=1.0), times=5)
    r = run_cli("transcribe", wav, "--retries", "0", *FAST)
    assert r.exit_code == 1
    assert "did not answer in time" in r.stderr


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.wav", "no such file"),
        (lambda d: _mkdir(d), "is a directory with no audio files"),
        (lambda d: _write(d / "empty.wav", b""), "is empty"),
        (lambda d: _write(d / "notes.wav", b"just some notes\n"), "looks like a text file"),
        (lambda d: _write(d / "latin1.wav", "caf\u00e9 cr\u00e8me, d\u00e9j\u00e0 vu\n".encode("latin-1")),
         "looks like a text file"),
        (lambda d: _write(d / "utf16.wav", "meeting notes\n".encode("utf-16")), "looks like a text file"),
        (lambda d: _write(d / "slide.wav", b"\x89PNG\r\n\x1a\n" + bytes(100)), "looks like a PNG image"),
        (lambda d: _write(d / "tool.wav", b"\x7fELF\x02\x01\x01" + bytes(100)), "looks like an executable"),
        (lambda d: _fifo(d / "pipe.wav"), "is not a regular file (a pipe or a device)"),
        (lambda d: Path("/dev/zero"), "is not a regular file (a pipe or a device)"),
    ],
)
def test_bad_local_input_exits_2(aiml, tmp_path, make, message):
    target = make(tmp_path / "in")
    r = run_cli("transcribe", target)
    assert r.exit_code == 2, r.stderr
    assert message in r.stderr.splitlines()[0]
    assert aiml.log == []


@pytest.mark.parametrize("url", ["ftp://example.com/a.mp3", "http://", "file:///etc/passwd",
                                 "http://[::1/a.mp3", "http://exa mple.com/a.mp3"])
def test_bad_url_exits_2(aiml, url):
    r = run_cli("transcribe", url)
    assert r.exit_code == 2
    assert r.stderr.startswith("stt: error: ")
    assert "internal error" not in r.stderr
    assert aiml.log == []


@pytest.mark.parametrize("args", [[], ["config"]])
def test_no_arguments_show_help_without_an_empty_error(args):
    r = run_cli(*args)
    assert r.exit_code == 2
    assert "stt: error" not in r.stderr


def test_a_job_id_is_data_not_a_path(aiml):
    r = run_cli("status", "../create")
    assert r.exit_code == 2
    assert [req.path for req in aiml.log] == ["/v1/stt/..%2Fcreate"]
    assert run_cli("fetch", "").exit_code == 2


@pytest.mark.parametrize("value", ["abc", "-1", "0", "inf"])
def test_bad_timeout_variables_are_config_errors(aiml, monkeypatch, value):
    monkeypatch.setenv("STT_READ_TIMEOUT", value)
    r = run_cli("status", "some-job")
    assert r.exit_code == 3
    assert r.stderr.startswith(f"stt: error: STT_READ_TIMEOUT must be a positive number of seconds, not '{value}'")


def test_usage_error_exits_2():
    r = run_cli("transcribe", "--no-such-option")
    assert r.exit_code == 2
    assert r.stderr.startswith("stt: error: No such option")


def test_common_options_before_and_after_subcommand(aiml, wav):
    for args in (["--verbose", "transcribe", wav, *FAST], ["transcribe", wav, *FAST, "--force", "--verbose"]):
        r = run_cli(*args)
        assert r.exit_code == 0, r.stderr
        assert "> POST http://127.0.0.1" in r.stderr
        assert API_KEY not in r.stderr + r.stdout
    r = run_cli("--base-url", "http://127.0.0.1:1/v1", "transcribe", wav, "--base-url", aiml.base_url, "--force",
                *FAST)
    assert r.exit_code == 0, r.stderr


def test_version_and_help():
    assert run_cli("--version").stdout.startswith("stt ")
    for command in ("transcribe", "submit", "status", "fetch", "convert", "config"):
        r = run_cli(command, "--help")
        assert r.exit_code == 0 and "Usage" in r.stdout


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _fifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)  # nobody writes to it: opening it would hang, so stt must not
    return path


def test_dev_stdin_is_stdin(aiml, wav):
    r = run_cli("transcribe", "/dev/stdin", stdin=wav.read_bytes())
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("Hello world.")
    (upload,) = aiml.requests("POST", "/v1/stt/create")
    assert upload.file_sha256 == hashlib.sha256(wav.read_bytes()).hexdigest()


def _mkdir(path: Path) -> Path:
    (path / "sub").mkdir(parents=True)
    (path / "sub" / "readme.txt").write_text("not audio")
    return path


def test_unreadable_file_exits_2(aiml, tmp_path):
    # Root reads every file whatever its mode, so make the read itself fail: /proc/self/mem has no
    # mapping at offset 0, and reading it raises EIO. (For a non-root user, chmod 000 does the same.)
    target = Path("/proc/self/mem")
    if not target.exists():
        pytest.skip("needs Linux /proc")
    r = run_cli("transcribe", target)
    assert r.exit_code == 2
    assert r.stderr.splitlines()[0].startswith("stt: error: cannot read /proc/self/mem")
    assert aiml.log == []


def test_stdin_is_checked_like_a_file(aiml):
    r = run_cli("transcribe", "-", stdin=b"hello, these are notes\n")
    assert r.exit_code == 2
    assert r.stderr.startswith("stt: error: stdin looks like a text file, not audio")
    assert aiml.log == []


def test_a_malformed_base_url_is_a_config_error(wav, monkeypatch):
    monkeypatch.setenv("STT_API_KEY", "k" * 20)
    r = run_cli("--base-url", "http://[::1", "transcribe", wav)
    assert r.exit_code == 3
    assert r.stderr.startswith("stt: error: base URL 'http://[::1' is not an http(s) URL")


def test_fetch_hints_keep_the_format_and_output(aiml, wav, tmp_path):
    aiml.job_seconds = 30
    job_id = run_cli("submit", wav).stdout.strip()
    r = run_cli("fetch", job_id, "-f", "vtt", "-o", tmp_path / "talk.vtt")
    assert r.exit_code == 4
    assert f"stt fetch {job_id} --wait -f vtt -o {tmp_path / 'talk.vtt'}" in r.stderr
