"""Batch: 100 inputs, server jobs of 2 s, ``-j 8`` — wall time against the ideal and against a bash loop.

Goal: wall ≤ 1.1x the ideal ⌈100/8⌉ x 2 s = 26 s (every wave of 8 jobs done the moment its jobs finish).
Baseline: a bash loop of single ``stt transcribe`` calls. The loop runs a subset (``--loop-inputs``,
default 10) and is extrapolated linearly to all inputs: each call is independent, so its time per input
does not depend on how many there are. The output says which figure is extrapolated.

The server is tests.servers.FakeAiml (a real threaded HTTP server on 127.0.0.1) with ``job_seconds = 2``.
Every input is a distinct small WAV: the job ledger would otherwise resume one job for identical audio.

Run from the repo root:  python -m bench.batch [--inputs 100] [--jobs 8] [--loop-inputs 10] [--patched DIR]
"""

from __future__ import annotations

import argparse
import math
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import figure, header, isolated_env, stt_command, write_wav

JOB_SECONDS = 2.0
GOAL_RATIO = 1.1


def main(argv: list[str] | None = None) -> bool:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--loop-inputs", type=int, default=10, help="inputs for the bash-loop baseline")
    parser.add_argument("--patched", type=Path, metavar="DIR", help="run stt from a patched copy in DIR")
    args = parser.parse_args(argv)
    from tests.servers import API_KEY, FakeAiml  # the repo's own fake API

    header(f"batch: {args.inputs} inputs, jobs of {JOB_SECONDS:g} s, -j {args.jobs}")
    if args.patched:
        print(f"   stt from {args.patched}")
    server = FakeAiml()
    server.job_seconds = JOB_SECONDS
    server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="stt-bench-batch-") as tmp, \
                isolated_env(STT_API_KEY=API_KEY, STT_PROVIDER="aiml", STT_BASE_URL=server.base_url) as env:
            if args.patched:
                env["PYTHONPATH"] = str(args.patched.resolve())
            inputs = Path(tmp) / "in"
            inputs.mkdir()
            for i in range(args.inputs):
                write_wav(inputs / f"a{i:03d}.wav", variant=i, seconds=0.1)
            stt = [*stt_command()]

            started = time.perf_counter()
            done = subprocess.run([*stt, "transcribe", str(inputs), "-j", str(args.jobs), "--output-dir",
                                   str(Path(tmp) / "out"), "-q"], env=env, capture_output=True, text=True)
            wall = time.perf_counter() - started
            if done.returncode != 0:
                raise SystemExit(f"stt failed ({done.returncode}): {done.stderr.strip()}")
            outputs = len(list((Path(tmp) / "out").glob("*.txt")))
            polls = len(server.requests("GET", "/v1/stt/"))

            # The baseline: what a user without -j writes. Different files from the batch, so the
            # ledger does not serve them from the batch's jobs.
            loop_in = Path(tmp) / "loop"
            loop_in.mkdir()
            files = [write_wav(loop_in / f"b{i:03d}.wav", variant=1000 + i, seconds=0.1)
                     for i in range(args.loop_inputs)]
            script = (f"for f in {' '.join(shlex.quote(str(f)) for f in files)}; do "
                      f"{shlex.join(stt)} transcribe \"$f\" -o \"$f.txt\" -q || exit 1; done")
            started = time.perf_counter()
            subprocess.run(["bash", "-c", script], env=env, check=True, capture_output=True)
            loop_wall = (time.perf_counter() - started) * args.inputs / args.loop_inputs
    finally:
        server.stop()

    ideal = math.ceil(args.inputs / args.jobs) * JOB_SECONDS
    ok = outputs == args.inputs
    ratio = wall / ideal
    passed = ratio <= GOAL_RATIO
    ok &= passed
    figure(f"stt transcribe DIR -j {args.jobs}", f"{wall:.1f} s", f"ideal {ideal:g} s", ratio,
           f"<= {GOAL_RATIO}x ideal", passed,
           f"measured; {outputs}/{args.inputs} transcripts, {polls / args.inputs:.1f} polls per job")
    figure("against a bash loop", f"{wall:.1f} s",
           f"loop {loop_wall:.0f} s ({args.loop_inputs} measured, extrapolated to {args.inputs})",
           loop_wall / wall, "(information: speed-up)", None, "ratio as speed-up")
    return ok


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
