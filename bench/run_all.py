"""Run every benchmark in turn and sum up: python -m bench.run_all [--full] [--size-mb N] [--patched DIR].

``--full`` measures latency for T up to 300 s (about 5 minutes more). ``--patched DIR`` runs stt from a
patched copy of the package in every benchmark (and replays the anchored poll loop), for before/after
figures on the same machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from bench import batch, latency, startup, upload


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="latency for T = 2, 10, 60 and 300 s")
    parser.add_argument("--size-mb", default="1024", help="upload file size in MiB")
    parser.add_argument("--patched", metavar="DIR", help="run stt from a patched copy of the package")
    args = parser.parse_args()
    patched = ["--patched", args.patched] if args.patched else []
    print(subprocess.run(["date", "-u", "+%Y-%m-%d %H:%M UTC"], capture_output=True, text=True).stdout.strip())
    results = {
        "startup": startup.main(patched),
        "latency": latency.main((["--full"] if args.full else []) + patched + (["--anchored"] if patched else [])),
        "upload": upload.main(["--size-mb", args.size_mb, *patched]),
        "batch": batch.main(patched),
    }
    print("== summary: " + ", ".join(f"{name} {'PASS' if ok else 'MISS'}" for name, ok in results.items()))
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
