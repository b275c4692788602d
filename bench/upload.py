"""Upload: a large file to a local server — stt's peak RSS, and its throughput against ``curl -F``.

Goals: peak RSS ≤ 60 MiB; upload throughput ≥ 0.8x curl's, to the same server in the same run.

The file is sparse (``truncate``) under /tmp and deleted afterwards: reading it costs no disk, so the figures
are about the client. The server is a raw-socket HTTP server that reads each body in 1 MiB ``recv_into``
calls and throws it away, counting bytes and timing the first and last body byte: it must be faster than
either client, or it would be the thing measured. It answers ``POST /v1/stt/create`` with a job id, which
is all ``stt submit`` waits for.

Throughput is the body's bytes over the time between its first and last byte at the server (the upload
itself). The wall time of the whole command is shown too: stt also starts Python and hashes the file for
its job ledger before sending it. Peak RSS comes from ``wait4``'s rusage of each child process.

Run from the repo root:  python -m bench.upload [--size-mb 1024] [--runs 3] [--patched DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench._common import figure, header, isolated_env, median, stt_command

GOAL_RSS_MIB = 60.0
GOAL_RATIO = 0.8
API_KEY = "bench-key-0123456789"


@dataclass
class Upload:
    body_bytes: int
    seconds: float  # first to last body byte at the server

    @property
    def mib_s(self) -> float:
        return self.body_bytes / (1 << 20) / self.seconds


class SinkServer(socketserver.ThreadingTCPServer):
    """Reads and discards request bodies; answers the AIML create call so clients exit normally."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SinkHandler)
        self.uploads: list[Upload] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def take(self) -> Upload:
        with self.lock:
            return self.uploads.pop()


class _SinkHandler(socketserver.BaseRequestHandler):
    server: SinkServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        pending = b""
        buf = bytearray(1 << 20)
        view = memoryview(buf)
        while True:  # one request per turn: clients keep the connection alive
            while b"\r\n\r\n" not in pending:
                data = sock.recv(65536)
                if not data:
                    return
                pending += data
            head, _, pending = pending.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
            length = int(headers.get("content-length", "0"))
            if headers.get("expect", "").lower() == "100-continue":
                sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")  # or curl waits a second before sending
            received = len(pending)
            first = time.perf_counter() if received else None
            pending = b""
            while received < length:
                n = sock.recv_into(view, min(len(buf), length - received))
                if not n:
                    return
                if first is None:
                    first = time.perf_counter()
                received += n
            last = time.perf_counter()
            if method == "POST" and length:
                with self.server.lock:
                    self.server.uploads.append(Upload(received, last - (first or last)))
            if method == "POST" and path.endswith("/stt/create"):
                status, body = "201 Created", {"generation_id": f"bench-{time.monotonic_ns()}", "status": "queued"}
            else:
                status, body = "404 Not Found", {"message": f"Cannot {method} {path}"}
            data = json.dumps(body).encode()
            sock.sendall(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(data)}"
                         f"\r\n\r\n".encode() + data)


@dataclass
class Run:
    wall: float
    rss_mib: float
    upload: Upload


def run_child(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and peak RSS (MiB) of one child process, from wait4's rusage of that child alone."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {stderr.strip()}")
    return wall, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def main(argv: list[str] | None = None) -> bool:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024, help="file size in MiB (default 1024 = 1 GiB)")
    parser.add_argument("--runs", type=int, default=3, help="uploads per client, alternating; medians reported")
    parser.add_argument("--patched", type=Path, metavar="DIR", help="run stt from a patched copy in DIR")
    args = parser.parse_args(argv)
    curl = shutil.which("curl")
    if curl is None:
        raise SystemExit("curl is needed for the baseline: apt-get install -y curl")

    header(f"upload of a {args.size_mb} MiB file to 127.0.0.1 ({args.runs} runs each, alternating)")
    if args.patched:
        print(f"   stt from {args.patched}")
    server = SinkServer()
    server.thread.start()
    runs: dict[str, list[Run]] = {"stt": [], "curl": []}
    with tempfile.TemporaryDirectory(prefix="stt-bench-upload-", dir="/tmp") as tmp, \
            isolated_env(STT_API_KEY=API_KEY) as env:
        if args.patched:
            env["PYTHONPATH"] = str(args.patched.resolve())
        audio = Path(tmp) / "big.wav"
        with open(audio, "wb") as fh:
            fh.truncate(args.size_mb << 20)  # sparse: no disk blocks, reads return zeros
        commands = {
            "stt": [*stt_command(), "submit", str(audio), "--provider", "aiml", "--base-url", server.base_url,
                    "-q", "--force"],
            "curl": [curl, "-sS", "-o", os.devnull, "-H", f"Authorization: Bearer {API_KEY}",
                     "-F", "model=#g1_nova-2-general", "-F", f"audio=@{audio};type=audio/wav",
                     f"{server.base_url}/stt/create"],
        }
        try:
            for _ in range(args.runs):
                for name, command in commands.items():
                    wall, rss = run_child(command, env)
                    runs[name].append(Run(wall, rss, server.take()))
        finally:
            audio.unlink(missing_ok=True)
            server.shutdown()
            server.server_close()

    def med(name: str, key: str) -> float:
        values = [getattr(r, key) if key != "mib_s" else r.upload.mib_s for r in runs[name]]
        return median(values)

    ok = True
    rss = max(r.rss_mib for r in runs["stt"])
    passed = rss <= GOAL_RSS_MIB
    ok &= passed
    figure("stt peak RSS", f"{rss:.1f} MiB", f"curl {max(r.rss_mib for r in runs['curl']):.1f} MiB", None,
           f"<= {GOAL_RSS_MIB:g} MiB", passed, "measured, max over runs")
    stt_rate, curl_rate = med("stt", "mib_s"), med("curl", "mib_s")
    ratio = stt_rate / curl_rate
    passed = ratio >= GOAL_RATIO
    ok &= passed
    figure("stt upload throughput", f"{stt_rate:.0f} MiB/s", f"curl -F {curl_rate:.0f} MiB/s", ratio,
           f">= {GOAL_RATIO}x curl", passed, "measured at the server, median")
    stt_wall, curl_wall = med("stt", "wall"), med("curl", "wall")
    figure("stt submit wall time", f"{stt_wall:.2f} s", f"curl {curl_wall:.2f} s", curl_wall / stt_wall,
           "(information: start-up and the ledger's hash of the file included)", None,
           "measured, median; ratio as speed")
    return ok


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
