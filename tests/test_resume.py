"""Interrupted runs (Ctrl-C, SIGTERM, kill -9) are resumed from the ledger, never paid for twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import make_wav
from tests.helpers import run_cli, stt_executable


def start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([stt_executable(), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=dict(os.environ))


def wait_for(condition, timeout: float = 15.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_prints_resume_command_and_rerun_resumes(aiml, tmp_path, sig):
    aiml.slow_seconds = 3
    audio = make_wav(tmp_path / "slow talk.wav")
    proc = start("transcribe", audio, "-f", "srt", "-o", tmp_path / "out.srt", "--poll-interval", "0.05")
    wait_for(lambda: len(aiml.requests("GET", "/v1/stt/")) >= 1)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=15)
    (job_id,) = aiml.jobs
    assert proc.returncode == 130, err
    text = err.decode()
    assert "Traceback" not in text
    assert f"stt fetch {job_id} --wait -f srt -o {tmp_path / 'out.srt'}" in text
    assert not (tmp_path / "out.srt").exists()
    # The same command again finds the job in the ledger and waits for it instead of submitting.
    r = run_cli("transcribe", audio, "-f", "srt", "-o", tmp_path / "out.srt", "--poll-interval", "0.05")
    assert r.exit_code == 0, r.stderr
    assert len(aiml.requests("POST", "/v1/stt/create")) == 1
    assert (tmp_path / "out.srt").read_text().startswith("1\n")


def test_kill_9_then_rerun_resumes(aiml, tmp_path):
    aiml.slow_seconds = 2
    audio = make_wav(tmp_path / "slow.wav")
    proc = start("transcribe", audio, "--poll-interval", "0.05")
    wait_for(lambda: len(aiml.requests("GET", "/v1/stt/")) >= 1)
    proc.kill()
    proc.wait(timeout=10)
    r = run_cli("transcribe", audio, "--poll-interval", "0.05")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("Hello world.")
    assert len(aiml.requests("POST", "/v1/stt/create")) == 1


def test_force_submits_anew(aiml, wav):
    assert run_cli("transcribe", wav, "--poll-interval", "0.05").exit_code == 0
    assert run_cli("transcribe", wav, "--poll-interval", "0.05").exit_code == 0
    assert len(aiml.requests("POST", "/v1/stt/create")) == 1
    assert run_cli("transcribe", wav, "--poll-interval", "0.05", "--force").exit_code == 0
    assert len(aiml.requests("POST", "/v1/stt/create")) == 2


def test_changed_options_are_a_new_job(aiml, wav):
    assert run_cli("transcribe", wav, "--poll-interval", "0.05").exit_code == 0
    assert run_cli("transcribe", wav, "--poll-interval", "0.05", "-l", "de").exit_code == 0
    assert len(aiml.requests("POST", "/v1/stt/create")) == 2


def test_concurrent_processes_lose_no_ledger_rows(aiml, tmp_path):
    files = [make_wav(tmp_path / f"in{i}" / f"a{i}.wav", seconds=0.05 + i / 1000) for i in range(12)]
    procs = [start("submit", *files[i::4], "-j", "3") for i in range(4)]
    ids = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        ids += out.decode().split()
    assert len(set(ids)) == 12
    r = run_cli("status", "--limit", "100")
    assert sorted(line.split("\t")[0] for line in r.stdout.splitlines()) == sorted(ids)


def test_submit_via_subprocess_gives_a_bare_id(aiml, wav):
    r = subprocess.run([stt_executable(), "submit", str(wav)], capture_output=True, env=dict(os.environ),
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().strip() in aiml.jobs
    assert r.stderr == b""


def test_head_closing_the_pipe_is_quiet(aiml, tmp_path):
    files = [make_wav(tmp_path / f"t{i}.wav", seconds=0.05 + i / 1000) for i in range(5)]
    cmd = f"'{stt_executable()}' submit {' '.join(map(str, files))} | head -1"
    r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, env=dict(os.environ),
                       timeout=30)
    assert b"Traceback" not in r.stderr and b"BrokenPipe" not in r.stderr, r.stderr
    assert len(r.stdout.split()) == 1


@pytest.mark.parametrize("args", [["--help"], ["status", "-n", "50"], ["status", "--json", "-n", "50"],
                                  ["config", "path"], ["config", "list"]])
def test_every_command_leaves_quietly_when_the_reader_has_gone(aiml, wav, args):
    assert run_cli("config", "set", "model", "whisper-1").exit_code == 0
    assert run_cli("submit", wav).exit_code == 0
    # The reader closes its end before stt writes a byte: every write meets EPIPE, deterministically.
    proc = subprocess.Popen([stt_executable(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=dict(os.environ))
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=30) == 0, err
    assert err == b""


def test_head_closing_the_pipe_mid_batch_is_quiet(aiml, tmp_path):
    aiml.job_seconds = 0.3
    for i in range(6):
        make_wav(tmp_path / "in" / f"t{i}.wav", seconds=0.05 + i / 1000)
    cmd = f"'{stt_executable()}' transcribe '{tmp_path / 'in'}' -j 2 --json --poll-interval 0.05 | head -1"
    r = subprocess.run(["bash", "-c", cmd], capture_output=True, env=dict(os.environ), timeout=30)
    assert b"Traceback" not in r.stderr and b"BrokenPipe" not in r.stderr, r.stderr
    assert len(r.stdout.splitlines()) == 1


def test_python_dash_m_works():
    r = subprocess.run([sys.executable, "-m", "stt_cli", "--version"], capture_output=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith(b"stt ")


def test_kill_during_upload_warns_on_rerun(aiml, tmp_path):
    from tests.servers import Fault

    audio = make_wav(tmp_path / "cut.wav")
    # The server creates the job but answers late: the client dies before it learns the id.
    aiml.add_fault("POST /v1/stt/create", Fault(process=True, delay=5))
    proc = start("transcribe", audio)
    wait_for(lambda: len(aiml.jobs) == 1)
    proc.kill()
    proc.wait(timeout=10)
    r = run_cli("transcribe", audio, "--poll-interval", "0.05")
    assert r.exit_code == 0, r.stderr
    assert f"an earlier run submitted {audio} but never received the job id" in r.stderr
    r = run_cli("transcribe", audio, "--poll-interval", "0.05", "--force")
    assert "never received the job id" not in r.stderr


def test_identical_audio_under_two_names_is_submitted_once(aiml, tmp_path):
    import shutil

    first = make_wav(tmp_path / "dup1.wav")
    shutil.copy(first, tmp_path / "dup2.wav")
    shutil.copy(first, tmp_path / "dup3.wav")
    r = run_cli("transcribe", first, tmp_path / "dup2.wav", tmp_path / "dup3.wav", "--poll-interval", "0.05")
    assert r.exit_code == 0, r.stderr
    assert "warning" not in r.stderr
    assert len(aiml.requests("POST", "/v1/stt/create")) == 1
    assert sorted(p.name for p in tmp_path.glob("dup*.txt")) == ["dup1.txt", "dup2.txt", "dup3.txt"]


def test_a_job_the_server_forgot_is_submitted_again(aiml, wav):
    aiml.job_seconds = 30
    job_id = run_cli("submit", wav).stdout.strip()
    del aiml.jobs[job_id]  # results expire on the server after about an hour
    aiml.job_seconds = 0
    r = run_cli("transcribe", wav, "--poll-interval", "0.05")
    assert r.exit_code == 0, r.stderr
    assert f"job {job_id} for {wav} is unknown to the server (expired?); submitting again" in r.stderr
    assert len(aiml.requests("POST", "/v1/stt/create")) == 2
    assert run_cli("status").stdout.count("expired") == 1


def test_no_file_or_socket_is_left_open(aiml, tmp_path):
    files = [make_wav(tmp_path / f"r{i}.wav", seconds=0.05 + i / 1000) for i in range(3)]
    r = subprocess.run([sys.executable, "-X", "dev", "-W", "always::ResourceWarning", "-m", "stt_cli",
                        "transcribe", *map(str, files), "--poll-interval", "0.05", "-q"],
                       capture_output=True, text=True, env=dict(os.environ), timeout=60)
    assert r.returncode == 0, r.stderr
    assert "ResourceWarning" not in r.stderr, r.stderr


def test_interrupted_batch_lists_every_running_job_and_calls_none_failed(aiml, tmp_path):
    aiml.slow_seconds = 5
    files = [make_wav(tmp_path / f"slow{i}.wav", seconds=0.05 + i / 1000) for i in range(2)]
    proc = start("transcribe", *files, "--poll-interval", "0.05")
    wait_for(lambda: len({r.path for r in aiml.requests("GET", "/v1/stt/")}) >= 2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 130
    text = err.decode()
    assert "failed" not in text, text
    for job_id in aiml.jobs:
        assert f"stt fetch {job_id} --wait" in text


def test_a_poll_that_returns_after_ctrl_c_is_not_reported_as_a_failure(aiml, tmp_path):
    # The interrupted run closes the ledger while a worker still waits on a poll; when that poll returns,
    # its ledger write fails. That failure is the interrupt's doing, not the input's: it must not be shown.
    import _thread
    import io
    import threading

    from stt_cli.cli import main
    from tests.servers import Fault

    aiml.slow_seconds = 30
    aiml.add_fault("GET /v1/stt/", Fault(status=200, body={"status": "queued"}, delay=1.5))
    files = [make_wav(tmp_path / f"slow{i}.wav", seconds=0.05 + i / 1000) for i in range(2)]

    def interrupt_during_the_held_poll() -> None:
        wait_for(lambda: len(aiml.requests("GET", "/v1/stt/")) >= 1)
        _thread.interrupt_main()

    err = io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = io.StringIO(), err
    threading.Thread(target=interrupt_during_the_held_poll, daemon=True).start()
    try:
        with pytest.raises(SystemExit) as exit_info:
            main(["transcribe", *map(str, files), "--poll-interval", "0.05"])
        wait_for(lambda: not any(t.name.startswith("stt-worker") for t in threading.enumerate()))
    finally:
        sys.stdout, sys.stderr = saved
    assert exit_info.value.code == 130
    assert "failed" not in err.getvalue(), err.getvalue()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_while_creations_await_their_answer_loses_no_job(aiml, tmp_path, sig):
    aiml.slow_seconds = 30
    aiml.create_delay = 1.5  # the server has made the jobs; their ids are on their way
    files = [make_wav(tmp_path / f"slow{i}.wav", seconds=0.05 + i / 1000) for i in range(2)]
    proc = start("transcribe", *files, "--poll-interval", "0.05")
    wait_for(lambda: len(aiml.jobs) == 2)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=20)
    text = err.decode()
    assert proc.returncode == 130, text
    for job_id in aiml.jobs:
        assert f"stt fetch {job_id} --wait" in text
    aiml.create_delay, aiml.slow_seconds = 0, 0
    for job in aiml.jobs.values():
        job.seconds = 0
    r = run_cli("transcribe", *files, "--poll-interval", "0.05")
    assert r.exit_code == 0, r.stderr
    assert "never received" not in r.stderr
    assert len(aiml.jobs) == 2  # both resumed: nothing paid for twice


def big_wav(path, megabytes: int):  # noqa: ANN001, ANN201
    """A large, quickly made WAV (a constant signal): for uploads that take a while."""
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\x01\x00" * (megabytes * 500_000))
    return path


def test_an_interrupt_mid_upload_stops_it_and_creates_nothing(aiml, tmp_path):
    # 40 MB: far more than loopback socket buffers hold, so the upload is really still sending.
    big = big_wav(tmp_path / "big.wav", 40)
    aiml.upload_rate = 10_000_000  # about 4 s to upload
    proc = start("transcribe", big)
    assert aiml.upload_started.wait(15)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 130, err.decode()
    assert "waiting up to" not in err.decode()  # an unfinished upload is stopped, not waited for
    aiml.upload_rate = None
    r = run_cli("transcribe", big, "--poll-interval", "0.05")
    assert r.exit_code == 0, r.stderr
    assert "never received" not in r.stderr  # the cut upload made no job, so there is nothing to warn of
    assert len(aiml.jobs) == 1


def test_an_interrupted_json_run_still_gives_every_input_its_line(aiml, tmp_path):
    aiml.slow_seconds = 30
    files = [make_wav(tmp_path / f"slow{i}.wav", seconds=0.05 + i / 1000) for i in range(3)]
    proc = start("transcribe", *files, "-j", "2", "--json", "--poll-interval", "0.05")
    wait_for(lambda: len(aiml.jobs) == 2)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 130
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert sorted(line["input"] for line in lines) == sorted(map(str, files))
    pending = [line for line in lines if line["status"] == "pending"]
    assert sorted(line["job_id"] for line in pending) == sorted(aiml.jobs)
    assert all(line["exit_code"] == 130 for line in pending)
    assert [line["status"] for line in lines].count("not_started") == 1


def test_a_second_interrupt_leaves_at_once_and_still_says_everything(aiml, tmp_path):
    aiml.create_delay = 6  # both jobs exist on the server; their ids are slow to come back
    files = [make_wav(tmp_path / f"held{i}.wav", seconds=0.05 + i / 1000) for i in range(2)]
    proc = start("transcribe", *files, "--json", "--poll-interval", "0.05")
    wait_for(lambda: len(aiml.jobs) == 2)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.8)  # waiting for the ids, as it says
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=15)
    text = err.decode()
    assert proc.returncode == 130, text
    assert text.count("interrupted before its job id arrived") == 2, text
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert sorted(line["input"] for line in lines) == sorted(map(str, files))
    assert {line["status"] for line in lines} == {"submitting"}
    # Their ids never arrived: the next run cannot resume them, but says so before paying again.
    aiml.create_delay = 0
    r = run_cli("transcribe", *files, "--poll-interval", "0.05")
    assert r.exit_code == 0, r.stderr
    assert r.stderr.count("never received the job id") == 2


def test_an_upload_on_a_slow_link_is_not_waited_for_and_leaves_nothing_to_warn_of(aiml, tmp_path, monkeypatch):
    # urllib3 sends a body under the connect timeout; loopback's window updates against a slow reader
    # stall a send for seconds, which the suite's 2-s connect timeout would turn into a failed upload.
    monkeypatch.setenv("STT_CONNECT_TIMEOUT", "60")
    # 16 MB at 50 kB/s: once loopback buffers are full, each 1 MiB block takes 20 s, so at the
    # interrupt the upload is mid-block and cannot stop at a block boundary within the 2-s grace.
    big = big_wav(tmp_path / "slowlink.wav", 16)
    aiml.upload_rate = 50_000
    proc = start("transcribe", big)
    assert aiml.upload_started.wait(15)
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=15)  # the 2-s upload grace, not the upload
    text = err.decode()
    assert proc.returncode == 130, text
    assert "interrupted during the upload; nothing was submitted" in text
    aiml.upload_rate = None
    r = run_cli("transcribe", big, "--poll-interval", "0.05")
    assert r.exit_code == 0, r.stderr
    assert "never received" not in r.stderr
    assert len(aiml.jobs) == 1


def test_ctrl_c_outside_a_run_still_says_interrupted(tmp_path):
    # Typer turns Ctrl-C into a silent exit 130 wherever our runner is not the one catching it.
    proc = subprocess.Popen([stt_executable(), "config", "set", "api_key"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    time.sleep(1.5)  # reading the key from stdin
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 130
    assert err.decode().strip().endswith("stt: error: interrupted")
