"""Everything ``stt`` shows on stderr while it works: spinner, progress bars, verbose lines.

On a terminal a Rich live display; off a terminal, in CI, with ``--quiet``, ``NO_COLOR`` or
``TERM=dumb``: no animation and no ANSI codes, at most one plain line per finished input.
stdout is never touched here: it carries data only.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

UPLOAD_BAR_MIN_BYTES = 4 * 1024 * 1024


def animated(stream: TextIO, quiet: bool, env: dict[str, str] | None = None) -> bool:
    env = dict(os.environ) if env is None else env
    if quiet or env.get("CI") or env.get("NO_COLOR") is not None or env.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass
class Ui:
    """Owner of stderr: verbosity flags and the live display."""

    quiet: bool = False
    verbose: bool = False
    debug: bool = False
    err: TextIO = field(default_factory=lambda: sys.stderr)

    def __post_init__(self) -> None:
        self.live = animated(self.err, self.quiet)
        self._lock = threading.Lock()
        self._display: Display | None = None

    def print(self, message: str) -> None:
        with self._lock:
            if self._display is not None and self._display.progress is not None:
                self._display.progress.console.print(message, markup=False, highlight=False)
            else:
                print(message, file=self.err, flush=True)

    def log(self, message: str) -> None:
        """A --verbose line (requests, retries); never holds a key."""
        if self.verbose or self.debug:
            self.print(f"stt: {message}")

    def warn(self, message: str) -> None:
        self.print(f"stt: warning: {message}")

    def display(self, total: int) -> Display:
        self._display = Display(self, total)
        return self._display


class Display:
    """A live view of a run: one line per running job plus an overall bar when there are several."""

    def __init__(self, ui: Ui, total: int):
        self.ui = ui
        self.total = total
        self.progress: Any = None
        self._overall: Any = None
        if ui.live:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(bar_width=24),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                console=Console(file=ui.err),
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            if total > 1:
                self._overall = self.progress.add_task("all", total=total, detail="")

    def __enter__(self) -> Display:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()
        self.ui._display = None

    def job(self, label: str) -> JobView:
        return JobView(self, label)


class JobView:
    """One input's line: its state text, an upload bar for big files, and its end."""

    def __init__(self, display: Display, label: str):
        self.display = display
        self.label = label
        self.started = time.monotonic()
        self.task: Any = None
        self._last_upload = 0.0
        if display.progress is not None:
            self.task = display.progress.add_task(label, total=None, detail="starting", visible=True)

    def update(self, detail: str) -> None:
        # Off a terminal this is silent: --verbose already logs each request and retry.
        if self.task is not None:
            self.display.progress.update(self.task, detail=detail)

    def upload(self, sent: int, total: int) -> None:
        if self.task is None or total < UPLOAD_BAR_MIN_BYTES:
            return
        now = time.monotonic()
        if now - self._last_upload < 0.1 and sent < total:
            return  # the encoder calls back per 8 KiB block; redraws that often cost throughput
        self._last_upload = now
        self.display.progress.update(self.task, total=total, completed=sent,
                                     detail=upload_detail(sent, total, now - self.started))
        if sent >= total:
            self.display.progress.refresh()  # a fast upload ends between two redraws: show that it did

    def finish(self, line: str | None) -> None:
        display = self.display
        if self.task is not None:
            display.progress.remove_task(self.task)
            if display._overall is not None:
                display.progress.advance(display._overall)
        if line and display.total > 1 and not display.ui.quiet:
            display.ui.print(line)


def upload_detail(sent: int, total: int, elapsed: float) -> str:
    """``uploading 12/80 MB · 9.5 MB/s · 7s left``"""
    rate = sent / elapsed if elapsed > 0 else 0.0
    left = f" · {(total - sent) / rate:.0f}s left" if rate > 0 and sent < total else ""
    return f"uploading {sent / 1e6:.0f}/{total / 1e6:.0f} MB · {rate / 1e6:.1f} MB/s{left}"
