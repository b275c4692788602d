"""Start-up: ``stt --help`` / ``stt --version`` against a bare Typer hello-world, same interpreter.

Goal: median wall time ≤ 1.15x the bare Typer app's; ``import stt_cli.cli`` must not import ``requests``.

"Cold" here means a fresh interpreter per run (nothing shared between runs) with a warm file cache and
compiled ``.pyc`` files, as for a user typing the command twice; dropping the kernel's page cache would
need root and would disturb the whole machine. Runs of the two programs alternate, so a noisy neighbour
slows both alike, and we compare medians.

Run from the repo root:  python -m bench.startup [--runs 21] [--patched DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from bench._common import BENCH, figure, header, isolated_env, median, stt_command

GOAL_RATIO = 1.15
# Modules the start-up path must not pay for; requests is the one the issue names.
HEAVY = ("requests", "urllib3", "requests_toolbelt", "sqlite3")


def time_once(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def compare(programs: dict[str, tuple[list[str], dict[str, str]]], runs: int) -> dict[str, float]:
    """Median wall time per program; one run of each in turn, so drift on the machine hits all alike."""
    for argv, env in programs.values():  # one discarded warm-up each: writes .pyc files, warms the file cache
        time_once(argv, env)
    times: dict[str, list[float]] = {name: [] for name in programs}
    for _ in range(runs):
        for name, (argv, env) in programs.items():
            times[name].append(time_once(argv, env))
    return {name: median(values) for name, values in times.items()}


def heavy_imports(env: dict[str, str]) -> list[str]:
    code = ("import sys, stt_cli.cli; "
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


def main(argv: list[str] | None = None) -> bool:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21, help="runs of each program per command")
    parser.add_argument("--patched", type=Path, metavar="DIR",
                        help="also time stt imported from DIR (a patched copy of the package, put first on "
                        "PYTHONPATH), side by side in the same run")
    args = parser.parse_args(argv)

    header(f"start-up (median of {args.runs} fresh processes each, alternating)")
    ok = True
    with isolated_env() as env:
        for command in (["--help"], ["--version"]):
            programs = {"stt": ([*stt_command(), *command], env),
                        "bare": ([sys.executable, str(BENCH / "hello_typer.py"), *command], env)}
            if args.patched:
                patched_env = {**env, "PYTHONPATH": str(args.patched.resolve())}
                programs["patched"] = ([*stt_command(), *command], patched_env)
            medians = compare(programs, args.runs)
            bare = medians["bare"]
            for name in programs:
                if name == "bare":
                    continue
                ratio = medians[name] / bare
                passed = ratio <= GOAL_RATIO
                if name == "stt":
                    ok &= passed
                label = f"stt {command[0]}" + (f" [patched: {args.patched}]" if name == "patched" else "")
                figure(label, f"{medians[name] * 1000:.0f} ms", f"bare Typer {bare * 1000:.0f} ms", ratio,
                       f"<= {GOAL_RATIO}x", passed, f"measured; +{(medians[name] - bare) * 1000:.0f} ms")
        loaded = heavy_imports(env)
        passed = "requests" not in loaded
        ok &= passed
        figure("import stt_cli.cli loads", ", ".join(loaded) or "none of " + ", ".join(HEAVY), None, None,
               "no requests", passed, "measured")
    return ok


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
