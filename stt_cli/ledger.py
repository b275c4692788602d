"""The local job record: a sqlite database in the state directory.

A job is written the moment the server returns its id, before any polling, so an interrupted run can
always be resumed instead of paying twice. WAL mode and a busy timeout let several ``stt`` processes
write at once; every write is its own short transaction, so a kill -9 loses at most the write under way.
"""

from __future__ import annotations

import json
import os
import random
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stt_cli.config import state_dir
from stt_cli.errors import ConfigError

BUSY_TIMEOUT = 30.0  # seconds a write waits for another process's

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id           TEXT NOT NULL,
    provider     TEXT NOT NULL,
    base_url     TEXT NOT NULL,
    model        TEXT NOT NULL,
    input        TEXT NOT NULL,
    input_sha256 TEXT,
    options      TEXT NOT NULL,
    status       TEXT NOT NULL,
    state        TEXT NOT NULL,
    error        TEXT,
    result       TEXT,
    created_at   REAL NOT NULL,
    updated_at   REAL NOT NULL,
    PRIMARY KEY (provider, base_url, id)
);
CREATE INDEX IF NOT EXISTS jobs_by_input ON jobs (input_sha256, provider, base_url, model);
CREATE INDEX IF NOT EXISTS jobs_by_id ON jobs (id);
-- A creation under way: written before the upload starts, removed once the job id is recorded. A row
-- left behind means a run died mid-submit, and the server may hold a job whose id we never learned.
CREATE TABLE IF NOT EXISTS submissions (
    token        TEXT PRIMARY KEY,
    provider     TEXT NOT NULL,
    base_url     TEXT NOT NULL,
    model        TEXT NOT NULL,
    input        TEXT NOT NULL,
    input_sha256 TEXT NOT NULL,
    options      TEXT NOT NULL,
    started_at   REAL NOT NULL,
    pid          INTEGER NOT NULL,
    host         TEXT NOT NULL
);
"""


@dataclass
class JobRecord:
    id: str
    provider: str
    base_url: str
    model: str
    input: str
    input_sha256: str | None
    options: dict[str, Any]
    status: str
    state: str
    error: str | None
    result: Any
    created_at: float
    updated_at: float


def _record(row: sqlite3.Row) -> JobRecord:
    data = dict(row)
    data["options"] = json.loads(data["options"] or "{}")
    data["result"] = json.loads(data["result"]) if data["result"] is not None else None
    return JobRecord(**data)


# A creation under way on another host (a shared or cached state folder) cannot be checked for life;
# once older than any upload and its answer could take, it was abandoned. CI containers change their
# hostname on every run, so without this a cut-off creation from the last run would never be reported.
FOREIGN_CREATION_STALE_AFTER = 3600.0


def _process_alive(pid: int, host: str, started_at: float) -> bool:
    if host != socket.gethostname():
        return time.time() - started_at < FOREIGN_CREATION_STALE_AFTER
    if pid == os.getpid():
        return False  # this process: its own rows are finished or abandoned by an earlier attempt
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def options_key(options: dict[str, Any]) -> str:
    return json.dumps(options, sort_keys=True, separators=(",", ":"))


class Ledger:
    def __init__(self, path: Path | None = None):
        self.path = path or state_dir() / "jobs.sqlite3"
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = self._open()
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open the job ledger {self.path}: {exc}",
                              hint="set STT_STATE_DIR to a writable directory") from exc

    def _open(self) -> sqlite3.Connection:
        # Switching to WAL and creating the schema can meet SQLITE_BUSY without the busy timeout being
        # consulted, when several processes open a new ledger at once: retry for as long as it allows.
        deadline = time.monotonic() + BUSY_TIMEOUT
        while True:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
            try:
                db.row_factory = sqlite3.Row
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(SCHEMA)
                return db
            except sqlite3.OperationalError as exc:
                db.close()
                if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(random.uniform(0.01, 0.05))
            except BaseException:
                db.close()
                raise

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        try:
            with self._lock, self.db:
                self.db.execute(sql, params)
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot write the job ledger {self.path}: {exc}") from exc

    def _read(self, sql: str, params: tuple[Any, ...] | list[Any]) -> list[sqlite3.Row]:
        # Worker threads share this connection; sqlite3 leaves serialising its use to the caller.
        try:
            with self._lock:
                return self.db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot read the job ledger {self.path}: {exc}") from exc

    def add(self, *, job_id: str, provider: str, base_url: str, model: str, input: str,
            input_sha256: str | None, options: dict[str, Any], status: str, state: str,
            result: Any = None, error: str | None = None) -> None:
        now = time.time()
        self._write(
            "INSERT OR REPLACE INTO jobs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (job_id, provider, base_url, model, input, input_sha256, options_key(options), status, state,
             error, json.dumps(result) if result is not None else None, now, now),
        )

    def update(self, job_id: str, *, provider: str, base_url: str, status: str, state: str,
               result: Any = None, error: str | None = None) -> None:
        self._write(
            "UPDATE jobs SET status=?, state=?, error=?, result=COALESCE(?, result), updated_at=? "
            "WHERE id=? AND provider=? AND base_url=?",
            (status, state, error, json.dumps(result) if result is not None else None, time.time(),
             job_id, provider, base_url),
        )

    def get(self, job_id: str, provider: str | None = None, base_url: str | None = None) -> JobRecord | None:
        sql, params = "SELECT * FROM jobs WHERE id=?", [job_id]
        if provider:
            sql, params = sql + " AND provider=?", [*params, provider]
        if base_url:
            sql, params = sql + " AND base_url=?", [*params, base_url]
        rows = self._read(sql + " ORDER BY updated_at DESC LIMIT 1", params)
        return _record(rows[0]) if rows else None

    def find_reusable(self, *, provider: str, base_url: str, model: str, input_sha256: str,
                      options: dict[str, Any]) -> JobRecord | None:
        """The newest job for the same audio, model and options that is pending or completed."""
        rows = self._read(
            "SELECT * FROM jobs WHERE input_sha256=? AND provider=? AND base_url=? AND model=? AND options=? "
            "AND state IN ('pending', 'completed') ORDER BY created_at DESC LIMIT 1",
            (input_sha256, provider, base_url, model, options_key(options)),
        )
        return _record(rows[0]) if rows else None

    def begin_submission(self, *, provider: str, base_url: str, model: str, input: str, input_sha256: str,
                         options: dict[str, Any]) -> tuple[str, float | None]:
        """Record a creation under way; return its token and when an abandoned one started, if any.

        A row is abandoned when the process that wrote it is gone: another ``stt`` still uploading the
        same audio is not a crash, and its row is left alone.
        """
        import uuid

        key = (provider, base_url, model, input_sha256, options_key(options))
        where = "provider=? AND base_url=? AND model=? AND input_sha256=? AND options=?"
        rows = self._read(f"SELECT token, started_at, pid, host FROM submissions WHERE {where}", key)
        abandoned = [r for r in rows if not _process_alive(r["pid"], r["host"], r["started_at"])]
        for row in abandoned:
            self._write("DELETE FROM submissions WHERE token=?", (row["token"],))
        token = uuid.uuid4().hex
        self._write("INSERT INTO submissions VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (token, provider, base_url, model, input, input_sha256, options_key(options), time.time(),
                     os.getpid(), socket.gethostname()))
        return token, max((r["started_at"] for r in abandoned), default=None)

    def end_submission(self, token: str) -> None:
        self._write("DELETE FROM submissions WHERE token=?", (token,))

    def recent(self, limit: int = 20) -> list[JobRecord]:
        rows = self._read("SELECT * FROM jobs ORDER BY created_at DESC LIMIT ?", (limit,))
        return [_record(r) for r in rows]

    def close(self) -> None:
        # Under the lock: a worker thread may be mid-write when an interrupted run closes the ledger.
        with self._lock:
            self.db.close()
