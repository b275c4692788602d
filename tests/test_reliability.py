"""Retries, timeouts, redirects and bad answers, against a fault-injecting server.

Each test asserts the server's request log: a job creation (which bills) is never repeated where the
server could have started the job.
"""

from __future__ import annotations

import email.utils
import json
import sqlite3
import time

import pytest

from stt_cli.http import Http
from tests.conftest import make_wav
from tests.helpers import run_cli
from tests.servers import API_KEY, FakeAiml, Fault, openai_payload

FAST = ("--poll-interval", "0.05")


def creates(server: FakeAiml) -> int:
    return len(server.requests("POST", "/v1/stt/create"))


def test_429_on_create_is_retried_honouring_retry_after(aiml, wav):
    aiml.add_fault("POST /v1/stt/create", Fault(status=429, headers={"Retry-After": "0"},
                                                body={"message": "Too many requests", "statusCode": 429}),
                   times=3)
    r = run_cli("transcribe", wav, "--verbose", *FAST)
    assert r.exit_code == 0, r.stderr
    assert creates(aiml) == 4
    assert r.stderr.count("retrying in 0.0s (HTTP 429") == 3


def test_retry_after_ms_and_http_date(aiml, wav):
    aiml.add_fault("POST /v1/stt/create", Fault(status=429, headers={"retry-after-ms": "200"}))
    date = email.utils.formatdate(time.time() + 1, usegmt=True)
    aiml.add_fault("POST /v1/stt/create", Fault(status=429, headers={"Retry-After": date}))
    started = time.monotonic()
    r = run_cli("transcribe", wav, "--verbose", *FAST)
    assert r.exit_code == 0, r.stderr
    assert "retrying in 0.2s" in r.stderr
    assert time.monotonic() - started >= 0.2
    assert creates(aiml) == 3


def test_retries_give_up_after_the_limit(aiml, wav):
    aiml.add_fault("POST /v1/stt/create", Fault(status=429, headers={"Retry-After": "0"}), times=10)
    r = run_cli("transcribe", wav, "--retries", "2")
    assert r.exit_code == 1
    assert "rate limited (HTTP 429)" in r.stderr
    assert creates(aiml) == 3


@pytest.mark.parametrize("fault", [
    Fault(status=500),
    Fault(status=502, body="<html>bad gateway</html>", content_type="text/html"),
    Fault(status=503),  # no Retry-After: the server may have started the job
])
def test_5xx_on_create_is_not_retried(aiml, wav, fault):
    aiml.add_fault("POST /v1/stt/create", fault)
    r = run_cli("transcribe", wav)
    assert r.exit_code == 1
    assert creates(aiml) == 1
    assert "its id never arrived, so a re-run submits it again" in r.stderr
    # The next run cannot resume a job whose id never arrived, but it says so before paying again.
    r = run_cli("transcribe", wav, *FAST)
    assert r.exit_code == 0, r.stderr
    assert f"an earlier run submitted {wav} but never received the job id" in r.stderr
    assert creates(aiml) == 2


def test_503_with_retry_after_on_create_is_retried(aiml, wav):
    aiml.add_fault("POST /v1/stt/create", Fault(status=503, headers={"Retry-After": "0"}))
    r = run_cli("transcribe", wav, *FAST)
    assert r.exit_code == 0, r.stderr
    assert creates(aiml) == 2


def test_read_timeout_on_create_is_not_retried(aiml, wav, monkeypatch):
    monkeypatch.setenv("STT_READ_TIMEOUT", "0.3")
    # The server creates the job, then answers too late: retrying would pay twice.
    aiml.add_fault("POST /v1/stt/create", Fault(process=True, delay=1.0))
    r = run_cli("transcribe", wav)
    assert r.exit_code == 1
    assert "did not answer in time" in r.stderr
    assert "its id never arrived" in r.stderr
    assert creates(aiml) == 1
    assert "never received the job id" in run_cli("transcribe", wav, *FAST).stderr


@pytest.mark.parametrize("fault", [
    Fault(status=200, body=b'{"generation_id": "', process=True),  # created, answer cut short
    Fault(status=201, body={"status": "queued"}, process=True),  # created, no id in the answer
])
def test_an_unreadable_create_answer_is_remembered(aiml, wav, fault):
    aiml.add_fault("POST /v1/stt/create", fault)
    r = run_cli("transcribe", wav, *FAST)
    assert r.exit_code == 1
    assert "its id never arrived" in r.stderr
    assert "never received the job id" in run_cli("transcribe", wav, *FAST).stderr


def test_a_refused_create_leaves_nothing_to_warn_about(aiml, wav):
    r = run_cli("transcribe", wav, "-m", "bogus-model")
    assert r.exit_code == 2
    r = run_cli("transcribe", wav, *FAST)
    assert r.exit_code == 0, r.stderr
    assert "warning" not in r.stderr


def test_connection_refused_on_create_is_retried(wav, dead_server):
    r = run_cli("transcribe", wav, "--retries", "2", "--verbose")
    assert r.exit_code == 1
    assert r.stderr.count("retrying in") == 2


@pytest.mark.parametrize("fault", [
    Fault(status=500), Fault(status=502), Fault(status=503), Fault(status=504), Fault(status=408),
    Fault(status=429, headers={"Retry-After": "0"}), Fault(drop=True), Fault(truncate=True, status=200,
                                                                              body={"status": "queued" * 50}),
])
def test_polls_survive_transient_faults(aiml, wav, fault):
    aiml.add_fault("GET /v1/stt/", fault, times=2)
    r = run_cli("transcribe", wav, *FAST)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("Hello world.")
    assert creates(aiml) == 1


def test_slow_poll_beyond_read_timeout_is_retried(aiml, wav, monkeypatch):
    monkeypatch.setenv("STT_READ_TIMEOUT", "0.3")
    aiml.add_fault("GET /v1/stt/", Fault(delay=1.0, status=200, body={"status": "queued"}))
    r = run_cli("transcribe", wav, *FAST)
    assert r.exit_code == 0, r.stderr
    assert creates(aiml) == 1


def test_malformed_json_answer(aiml, wav):
    aiml.add_fault("GET /v1/stt/", Fault(status=200, body='{"status": "compl'), times=10)
    r = run_cli("transcribe", wav, "--retries", "0", *FAST)
    assert r.exit_code == 1
    assert "unreadable answer (malformed or truncated JSON, HTTP 200)" in r.stderr


def test_answer_over_the_size_limit_is_refused(aiml):
    aiml.add_fault("GET /v1/stt/", Fault(status=200, body={"status": "queued", "pad": "x" * 5000}))
    http = Http(aiml.base_url, API_KEY)
    from stt_cli.errors import BadResponseError

    with pytest.raises(BadResponseError, match="larger than"):
        http.request("GET", "stt/x", max_bytes=1024)


def test_redirect_to_another_host_drops_the_key(aiml, wav):
    other = FakeAiml().start()
    try:
        job_id = run_cli("submit", wav).stdout.strip()
        target = f"http://localhost:{other.port}/v1/stt/{job_id}"
        aiml.add_fault("GET /v1/stt/", Fault(status=302, headers={"Location": target}, body=""))
        r = run_cli("fetch", job_id, "--retries", "0")
        (followed,) = other.requests("GET", "/v1/stt/")
        assert "authorization" not in followed.headers
        assert r.exit_code == 3  # the other host wants a key it was rightly not given
    finally:
        other.stop()


def test_key_never_in_output_logs_or_ledger(aiml, wav, state_dir):
    r = run_cli("transcribe", wav, "--debug", "-f", "json", *FAST)
    assert r.exit_code == 0
    assert API_KEY not in r.stdout + r.stderr
    assert "Authorization: Bearer ***" in r.stderr
    for path in state_dir.iterdir():
        assert API_KEY.encode() not in path.read_bytes()
    rows = sqlite3.connect(state_dir / "jobs.sqlite3").execute("SELECT * FROM jobs").fetchall()
    assert API_KEY not in json.dumps(rows)


def test_a_key_the_server_echoes_is_masked_everywhere(aiml, wav, tmp_path, state_dir):
    aiml.add_fault("POST /v1/stt/create", Fault(status=400, body={"message": f"bad header: Bearer {API_KEY}"}))
    r = run_cli("transcribe", wav, "--debug", *FAST)
    assert r.exit_code == 2
    assert "bad header: Bearer ***" in r.stderr
    assert API_KEY not in r.stdout + r.stderr
    # A job error that quotes the key: not in the ledger, not in status --json.
    audio = make_wav(tmp_path / "other.wav", seconds=0.3)
    job = {"status": "error", "error": {"name": "AuthError", "message": f"key {API_KEY} is not allowed"}}
    aiml.add_fault("GET /v1/stt/", Fault(status=200, body=job))
    r = run_cli("transcribe", audio, "--debug", *FAST)
    assert r.exit_code == 5
    assert "key *** is not allowed" in r.stderr
    assert API_KEY not in r.stdout + r.stderr + run_cli("status", "--json").stdout
    for path in state_dir.iterdir():
        assert API_KEY.encode() not in path.read_bytes()


def test_failed_render_leaves_existing_file_untouched(aiml, wav, tmp_path):
    out = tmp_path / "talk.srt"
    out.write_text("old captions\n")
    aiml.payload = openai_payload()  # the job succeeds, but with no timestamps captions cannot be made
    r = run_cli("transcribe", wav, "-f", "srt", "-f", "text", "-o", out, *FAST)
    assert r.exit_code == 2
    assert "no timestamps" in r.stderr
    assert out.read_text() == "old captions\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".talk")] == []
    assert not (tmp_path / "talk.txt").exists()  # no format is written when one cannot be made


def test_unwritable_output_is_a_clear_error(aiml, wav, tmp_path):
    (tmp_path / "afile").write_text("x")
    r = run_cli("transcribe", wav, "-o", tmp_path / "afile" / "out.txt", *FAST)
    assert r.exit_code == 1
    assert r.stderr.startswith("stt: error: cannot write ")
    # The job is not lost: the ledger has its result, so the retry is free.
    assert run_cli("transcribe", wav, "-o", tmp_path / "out.txt", *FAST).exit_code == 0
    assert creates(aiml) == 1


def test_output_through_a_symlink_updates_its_target_and_keeps_the_link(aiml, wav, tmp_path):
    target = tmp_path / "captions" / "real.txt"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    r = run_cli("transcribe", wav, "-o", link, *FAST)
    assert r.exit_code == 0, r.stderr
    assert link.is_symlink()
    assert target.read_text().startswith("Hello world.")


def test_output_to_a_fifo_is_written_through_not_replaced(aiml, wav, tmp_path):
    # -o /dev/stdout and -o >(cmd) are pipes too: renaming a temporary file over them loses the output.
    import os
    import stat
    import threading

    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    r = run_cli("transcribe", wav, "-o", fifo, *FAST)
    reader.join(10)
    assert r.exit_code == 0, r.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert received and received[0].decode().startswith("Hello world.")


def test_output_naming_the_input_is_refused_before_uploading(aiml, wav, tmp_path):
    audio = wav.read_bytes()
    r = run_cli("transcribe", wav, "-o", wav, *FAST)
    assert r.exit_code == 2
    assert r.stderr.startswith(f"stt: error: refusing to overwrite the input {wav}")
    assert wav.read_bytes() == audio
    assert creates(aiml) == 0
    link = tmp_path / "same.wav"
    link.symlink_to(wav)
    assert run_cli("transcribe", wav, "-f", "srt", "-o", link, *FAST).exit_code == 2
    assert wav.read_bytes() == audio


def test_fetch_refuses_to_overwrite_the_jobs_input(aiml, wav):
    audio = wav.read_bytes()
    job_id = run_cli("submit", wav).stdout.strip()
    r = run_cli("fetch", job_id, "--wait", "-o", wav, *FAST)
    assert r.exit_code == 2
    assert "refusing to overwrite the input" in r.stderr
    assert wav.read_bytes() == audio


@pytest.mark.parametrize("fault", [
    Fault(status=502, body="<html>bad gateway</html>", content_type="text/html"),
    Fault(status=200, body=b"{not json", content_type="application/json"),
])
def test_a_poll_that_keeps_failing_names_the_job_and_how_to_resume(aiml, wav, tmp_path, fault):
    aiml.add_fault("GET /v1/stt/", fault)
    out = tmp_path / "out.srt"
    r = run_cli("transcribe", wav, "-f", "srt", "-o", out, "--retries", "0", *FAST)
    assert r.exit_code == 1
    (job_id,) = aiml.jobs
    first, hint = r.stderr.splitlines()
    assert first.startswith("stt: error: ") and first.endswith(f"(while waiting for job {job_id})")
    assert hint == f"stt: hint: the job may still be running; resume with: stt fetch {job_id} --wait -f srt -o {out}"
    assert run_cli("fetch", job_id, "--wait", "-f", "srt", "-o", out, *FAST).exit_code == 0
    assert out.read_text().startswith("1\n")
    assert creates(aiml) == 1
