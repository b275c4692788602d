"""Many inputs at once: concurrency, partial failure, naming, resume, NDJSON, progress lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import make_wav
from tests.helpers import run_cli, run_in_terminal, stt_executable
from tests.servers import FakeAiml

FAST = ("--poll-interval", "0.05")


def recordings(folder: Path, count: int, prefix: str = "rec") -> list[Path]:
    # Slightly different lengths: different content, so no two inputs share a job.
    return [make_wav(folder / f"{prefix}{i:02d}.wav", seconds=0.05 + i / 1000) for i in range(count)]


def max_overlap(server: FakeAiml) -> int:
    """Most jobs alive on the server at once (created, not yet seen completed by the client)."""
    events = []
    for job in server.jobs.values():
        events += [(job.created, 1), (job.created + job.seconds, -1)]
    alive = peak = 0
    for _, step in sorted(events):
        alive += step
        peak = max(peak, alive)
    return peak


def test_folder_at_j4_runs_four_at_a_time(aiml, tmp_path):
    aiml.job_seconds = 0.5
    recordings(tmp_path / "calls", 20)
    r = run_cli("transcribe", tmp_path / "calls", "-j", "4", "-f", "srt", *FAST)
    assert r.exit_code == 0, r.stderr
    assert len(aiml.jobs) == 20
    assert max_overlap(aiml) == 4  # never more than -j, and the pool is kept full
    assert sorted(p.name for p in (tmp_path / "calls").glob("*.srt")) == [f"rec{i:02d}.srt" for i in range(20)]
    assert r.stderr.splitlines()[-1] == "stt: 20 done, 0 failed, 0 skipped"


def test_one_failure_gives_partial_exit_code_and_others_are_written(aiml, tmp_path):
    files = recordings(tmp_path, 3)
    bad = make_wav(tmp_path / "fail.wav", seconds=0.2)
    r = run_cli("transcribe", *files, bad, "--output-dir", tmp_path / "out", *FAST)
    assert r.exit_code == 6
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["rec00.txt", "rec01.txt", "rec02.txt"]
    assert "stt: 3 done, 1 failed, 0 skipped" in r.stderr
    assert f"failed {bad}: job" in r.stderr


def test_fail_fast_stops_starting_new_inputs(aiml, tmp_path):
    bad = make_wav(tmp_path / "a-fail.wav", seconds=0.2)
    files = recordings(tmp_path, 5)
    r = run_cli("transcribe", bad, *files, "-j", "1", "--fail-fast", *FAST)
    assert r.exit_code == 5  # nothing succeeded: the first failure's own code
    assert len(aiml.jobs) == 1
    assert "stt: 0 done, 1 failed, 0 skipped, 5 not started" in r.stderr
    # --json gives every input its line, those never started included.
    r = run_cli("transcribe", bad, *files, "-j", "1", "--fail-fast", "--json", "--force", *FAST)
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert sorted(line["input"] for line in lines) == sorted(map(str, [bad, *files]))
    assert [line["status"] for line in lines].count("not_started") == 5


def test_when_every_input_fails_the_first_failure_decides_the_code(aiml, tmp_path):
    bad = make_wav(tmp_path / "fail.wav", seconds=0.2)
    r = run_cli("transcribe", bad, tmp_path / "missing.wav", "-j", "1", *FAST)
    assert r.exit_code == 5


def test_ndjson_lines(aiml, tmp_path):
    files = recordings(tmp_path, 3)
    r = run_cli("transcribe", *files, "--json", "-f", "vtt", *FAST)
    assert r.exit_code == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert sorted(row["input"] for row in rows) == sorted(map(str, files))
    for row in rows:
        assert row["status"] == "completed" and row["error"] is None and row["job_id"] in aiml.jobs
        assert row["outputs"] == [str(Path(row["input"]).with_suffix(".vtt"))]
    r = run_cli("submit", *files, "--json", "--force")
    assert [json.loads(line)["status"] for line in r.stdout.splitlines()] == ["submitted"] * 3


def test_duplicates_and_input_lists(aiml, tmp_path):
    files = recordings(tmp_path / "a", 2)
    listing = tmp_path / "inputs.txt"
    listing.write_text(f"# my recordings\n\n{files[0]}\n{files[1]}\n{files[0]}\n")
    r = run_cli("transcribe", files[0], "--from-file", listing, "-f", "json", *FAST)
    assert r.exit_code == 0, r.stderr
    assert len(aiml.jobs) == 2


def test_same_stems_never_overwrite(aiml, tmp_path):
    one = make_wav(tmp_path / "day1" / "talk.wav", seconds=0.1)
    two = make_wav(tmp_path / "day2" / "talk.wav", seconds=0.2)
    three = make_wav(tmp_path / "day2" / "talk.mp3", seconds=0.3)
    r = run_cli("transcribe", one, two, three, "--output-dir", tmp_path / "out", *FAST)
    assert r.exit_code == 0, r.stderr
    found = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.txt"))
    assert found == ["day1/talk.txt", "day2/talk.mp3.txt", "day2/talk.wav.txt"]


def test_dash_o_with_several_inputs_needs_stem(aiml, tmp_path):
    files = recordings(tmp_path, 2)
    r = run_cli("transcribe", *files, "-o", tmp_path / "out.txt")
    assert r.exit_code == 2 and "{stem}" in r.stderr
    assert aiml.log == []
    r = run_cli("transcribe", *files, "-o", str(tmp_path / "caps" / "{stem}.srt"), "-f", "srt", *FAST)
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "caps").iterdir()) == ["rec00.srt", "rec01.srt"]


def test_skip_existing(aiml, tmp_path):
    files = recordings(tmp_path, 2)
    files[0].with_suffix(".txt").write_text("done before\n")
    r = run_cli("transcribe", *files, "--skip-existing", *FAST)
    assert r.exit_code == 0, r.stderr
    assert len(aiml.jobs) == 1
    assert files[0].with_suffix(".txt").read_text() == "done before\n"
    assert "1 done, 0 failed, 1 skipped" in r.stderr


def test_plain_progress_lines_off_a_terminal_and_quiet(aiml, tmp_path):
    files = recordings(tmp_path, 2)
    r = run_cli("transcribe", *files, *FAST)
    lines = r.stderr.splitlines()
    assert sorted(line.split(" ")[0] for line in lines[:2]) == ["done", "done"]
    assert "\x1b" not in r.stderr
    r = run_cli("transcribe", *files, "--quiet", "--force", *FAST)
    assert (r.exit_code, r.stderr) == (0, "")


def ledger_rows(state_dir: Path) -> int:
    import sqlite3

    try:
        return sqlite3.connect(state_dir / "jobs.sqlite3").execute("SELECT count(*) FROM jobs").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_killed_batch_rerun_resubmits_nothing(aiml, tmp_path, state_dir):
    # Kill once the first four jobs are recorded and are being polled (each takes 3 s on the server), so
    # no creation is in flight: a job whose id never reached the client cannot be known to a re-run.
    aiml.job_seconds = 3
    folder = tmp_path / "batch"
    recordings(folder, 8)
    args = [stt_executable(), "transcribe", str(folder), "-j", "4", *FAST]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ))
    deadline = time.monotonic() + 20
    while ledger_rows(state_dir) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    submitted = {job.name for job in aiml.jobs.values()}
    assert len(submitted) >= 4
    r = run_cli("transcribe", folder, "-j", "4", *FAST)
    assert r.exit_code == 0, r.stderr
    names = [job.name for job in aiml.jobs.values()]
    assert sorted(names) == sorted(set(names)) and len(names) == 8  # each input submitted exactly once
    assert len(list(folder.glob("*.txt"))) == 8


def test_progress_on_a_terminal_animates(aiml, tmp_path):
    files = recordings(tmp_path, 2)
    aiml.job_seconds = 0.5
    code, output = run_in_terminal("transcribe", *files, *FAST, "--output-dir", tmp_path / "out")
    assert code == 0, output
    assert b"\x1b[" in output  # a live display, not plain lines
    assert len(list((tmp_path / "out").glob("*.txt"))) == 2


def test_no_animation_with_no_color_or_quiet(aiml, tmp_path):
    files = recordings(tmp_path, 2)
    code, output = run_in_terminal("transcribe", *files, *FAST, "--output-dir", tmp_path / "a",
                                   env={"NO_COLOR": "1"})
    assert code == 0 and b"\x1b" not in output
    assert output.count(b"done ") == 2
    code, output = run_in_terminal("transcribe", *files, *FAST, "--output-dir", tmp_path / "b", "--quiet",
                                   "--force")
    assert (code, output) == (0, b"")


def test_big_upload_shows_a_progress_bar(aiml, tmp_path):
    big = tmp_path / "big.wav"
    with open(big, "wb") as fh:
        fh.write(b"RIFF" + b"\0" * 40)
        fh.truncate(6 * 1024 * 1024)
    code, output = run_in_terminal("transcribe", big, *FAST, "-o", tmp_path / "big.txt")
    assert code == 0, output
    assert b"uploading 6/6 MB" in output


def test_names_that_still_clash_are_widened_until_unique(aiml, tmp_path):
    a = make_wav(tmp_path / "talk.wav", seconds=0.1)
    b = make_wav(tmp_path / "talk.mp3", seconds=0.2)
    c = make_wav(tmp_path / "talk.wav.mp3", seconds=0.3)
    r = run_cli("transcribe", a, b, c, "-f", "srt", "--output-dir", tmp_path / "o", *FAST)
    assert r.exit_code == 0, r.stderr
    assert len(list((tmp_path / "o").glob("*.srt"))) == 3


def test_relative_and_absolute_paths_to_one_folder_do_not_clash(aiml, tmp_path, monkeypatch):
    make_wav(tmp_path / "talk.wav", seconds=0.1)
    make_wav(tmp_path / "talk.mp3", seconds=0.2)
    monkeypatch.chdir(tmp_path)
    r = run_cli("transcribe", "talk.wav", str(tmp_path / "talk.mp3"), "-f", "srt", *FAST)
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in tmp_path.glob("*.srt")) == ["talk.mp3.srt", "talk.wav.srt"]


def test_a_template_that_clashes_is_refused_before_submitting(aiml, tmp_path):
    a = make_wav(tmp_path / "a" / "talk.wav", seconds=0.1)
    b = make_wav(tmp_path / "b" / "talk.wav", seconds=0.2)
    r = run_cli("transcribe", a, b, "-o", str(tmp_path / "o" / "{stem}.srt"), "-f", "srt")
    assert r.exit_code == 2
    assert "would both be written to" in r.stderr
    assert aiml.log == []


def test_the_summary_keeps_each_failures_hint(aiml, tmp_path):
    aiml.slow_seconds = 30
    fast, slow = make_wav(tmp_path / "fast.wav"), make_wav(tmp_path / "slow.wav", seconds=0.3)
    r = run_cli("transcribe", fast, slow, "--timeout", "0.3", *FAST)
    assert r.exit_code == 6
    (job_id,) = [j.id for j in aiml.jobs.values() if j.name == "slow.wav"]
    assert f"stt:     hint: fetch it later: stt fetch {job_id} --wait -f text -o {tmp_path / 'slow.txt'}" in r.stderr


def test_skipped_inputs_count_as_done_for_the_exit_code(aiml, tmp_path):
    files = recordings(tmp_path, 2)
    assert run_cli("transcribe", *files, *FAST).exit_code == 0
    bad = make_wav(tmp_path / "c-fail.wav", seconds=0.2)
    r = run_cli("transcribe", *files, bad, "--skip-existing", *FAST)
    assert r.exit_code == 6  # two were done (earlier), one failed: a partial failure, not a total one
    assert "stt: 0 done, 1 failed, 2 skipped" in r.stderr


@pytest.mark.parametrize(("extra", "message"), [
    (["-o", "{stem}.srt", "--output-dir", "out"], "use -o or --output-dir, not both"),
    (["-o", "-", "-f", "srt", "-f", "vtt"], "-o - takes one input and one format"),
    (["-o", "-", "SECOND"], "-o - takes one input and one format"),
])
def test_outputs_that_cannot_work_are_refused_before_submitting(aiml, tmp_path, extra, message):
    first, second = recordings(tmp_path, 2)
    args = [str(second) if a == "SECOND" else a for a in extra]
    r = run_cli("transcribe", first, *args, *FAST)
    assert r.exit_code == 2
    assert r.stderr.startswith(f"stt: error: {message}")
    assert aiml.log == []


def test_the_resume_hint_writes_what_the_run_would_have(aiml, tmp_path):
    aiml.slow_seconds = 30
    audio = make_wav(tmp_path / "in" / "slow.wav")
    out = tmp_path / "out"
    r = run_cli("transcribe", audio, "-f", "raw", "-f", "text", "--output-dir", out, "--timeout", "0.2", *FAST)
    assert r.exit_code == 4
    hint = r.stderr.split("fetch it later: ")[1].strip()
    assert hint.endswith(f"-f raw -f text -o {out / 'slow'}")
    for job in aiml.jobs.values():
        job.seconds = 0
    r = run_cli(*hint.split()[1:], *FAST)
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["slow.raw.json", "slow.txt"]


def test_submit_says_when_a_job_was_already_submitted(aiml, tmp_path):
    files = recordings(tmp_path, 2)
    first = run_cli("submit", *files)
    again = run_cli("submit", *files)
    assert again.stdout == first.stdout or sorted(again.stdout.split()) == sorted(first.stdout.split())
    assert again.stderr.count("already submitted") == 2
    assert "stt: submitted" not in again.stderr


def test_output_dir_is_honoured_for_a_single_input(aiml, tmp_path):
    (audio,) = recordings(tmp_path / "in", 1)
    r = run_cli("transcribe", audio, "-f", "srt", "-d", tmp_path / "captions", *FAST)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""
    assert (tmp_path / "captions" / "rec00.srt").read_text().startswith("1\n")


def test_o_dev_stdout_writes_to_stdout_not_over_the_redirected_file(aiml, wav, tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("PREVIOUS\n")
    script = (f"{{ echo HEADER; '{stt_executable()}' transcribe '{wav}' -o /dev/stdout --poll-interval 0.05; "
              f"echo FOOTER; }} >> '{out}'")
    r = subprocess.run(["bash", "-c", script], capture_output=True, env=dict(os.environ), timeout=60)
    assert r.returncode == 0, r.stderr
    assert out.read_text() == "PREVIOUS\nHEADER\nHello world. This is a test of the captions.\nFOOTER\n"


@pytest.mark.parametrize("command", ["fetch", "convert"])
def test_o_with_output_dir_is_refused_everywhere(aiml, wav, tmp_path, command):
    target = run_cli("submit", wav).stdout.strip() if command == "fetch" else str(wav)
    r = run_cli(command, target, "-o", "x.txt", "-d", tmp_path / "out")
    assert r.exit_code == 2
    assert r.stderr.startswith("stt: error: use -o or --output-dir, not both")
