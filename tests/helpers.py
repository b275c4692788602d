"""Run the real ``stt`` entry point in-process, with its own stdin/stdout/stderr."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from stt_cli.cli import main


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


class _Text(io.TextIOWrapper):
    def isatty(self) -> bool:
        return False


def run_cli(*args: str, stdin: bytes = b"") -> Result:
    """Call ``stt_cli.cli.main`` as the console script does, through its error boundary."""
    out, err = io.BytesIO(), io.BytesIO()
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin = _Text(io.BytesIO(stdin), encoding="utf-8")
    sys.stdout = _Text(out, encoding="utf-8", write_through=True)
    sys.stderr = _Text(err, encoding="utf-8", write_through=True)
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
        sys.stdin, sys.stdout, sys.stderr = saved
    return Result(code, stdout, stderr)


def stt_executable() -> str:
    """The installed console script next to this interpreter."""
    candidate = Path(sys.executable).with_name("stt")
    return str(candidate) if candidate.exists() else "stt"


def run_stt(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([stt_executable(), *map(str, args)], input=stdin, capture_output=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def run_in_terminal(*args: str, env: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Run ``stt`` with a pseudo-terminal as stdout and stderr, as a person at a shell would."""
    import pty

    argv = [stt_executable(), *map(str, args)]
    full_env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", **(env or {})}
    full_env.pop("CI", None)
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(argv[0], argv, full_env)
    output = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output
