"""The job ledger against other writers: a real sqlite file, with real locks."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from stt_cli.ledger import Ledger


def test_opening_waits_for_a_writer_instead_of_failing(tmp_path: Path) -> None:
    # Another process is part-way through a write on a ledger not yet in WAL mode (a run that created
    # it a moment ago). Switching to WAL then meets SQLITE_BUSY at once, without the busy timeout being
    # consulted (sqlite's deadlock avoidance); seen when several `stt` started together.
    path = tmp_path / "jobs.sqlite3"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE t (x)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    threading.Timer(0.3, lambda: other.execute("COMMIT")).start()
    ledger = Ledger(path)
    ledger.add(job_id="j1", provider="aiml", base_url="http://x", model="m", input="a.wav", input_sha256="0",
               options={}, status="queued", state="pending")
    assert [r.id for r in ledger.recent()] == ["j1"]
    ledger.close()
    other.close()


def test_a_creation_left_by_another_host_is_reported_once_it_is_old(tmp_path: Path) -> None:
    # CI containers get a new hostname every run: a creation cut off in the last one must still be found.
    import time

    ledger = Ledger(tmp_path / "jobs.sqlite3")
    key = {"provider": "aiml", "base_url": "http://x", "model": "m", "input": "a.wav", "input_sha256": "s",
           "options": {}}
    for started, expected in ((time.time() - 2 * 3600, True), (time.time() - 60, False)):
        ledger.db.execute("INSERT INTO submissions VALUES (?,?,?,?,?,?,?,?,?,?)",
                          ("t-old", "aiml", "http://x", "m", "a.wav", "s", "{}", started, 1, "other-host"))
        token, unfinished = ledger.begin_submission(**key)
        assert (unfinished is not None) is expected
        ledger.db.execute("DELETE FROM submissions")
    ledger.close()
