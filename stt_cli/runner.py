"""Running jobs: submit (or resume from the ledger), wait, render and write — for one input or many.

Workers are plain daemon threads pulling from a queue: submissions, uploads and polls of different
inputs overlap, and a slow job never holds up the others. The main thread only waits, so Ctrl-C is
handled there: it stops the workers and prints how to resume every job still running.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stt_cli.config import Settings
from stt_cli.errors import (
    ApiError,
    ConfigError,
    ExitCode,
    JobFailedError,
    JobPendingError,
    SttError,
    UsageError,
)
from stt_cli.http import READ_TIMEOUT, Http
from stt_cli.inputs import AudioSource, open_source
from stt_cli.ledger import JobRecord, Ledger
from stt_cli.outputs import STDOUT, plan_outputs, strip_output_extension, write_outputs
from stt_cli.progress import JobView, Ui
from stt_cli.providers import JobOptions, JobState, Provider, make_provider
from stt_cli.providers.base import CAPTION_FORMATS, COMPLETED, FAILED, check_formats

SYNC_READ_TIMEOUT = 600.0
# The result arrives at most one poll gap after the job ends. The gap is 10% of the time waited so far
# (so latency ≤ 10% of the job's length), never under POLL_START, never over POLL_CAP. Polls grow like
# log T up to POLL_CAP / POLL_GROWTH = 100 s of waiting, then one per POLL_CAP: the 10 s cap keeps a long
# job's result within 10 s of finishing, at the price of T/10 polls beyond 100 s.
POLL_START = 1.0
POLL_CAP = 10.0
POLL_GROWTH = 0.1
# Each poll is aimed this much early (at most 2% of the interval): waking from a wait and sending a
# request take a few milliseconds, which would otherwise put every gap, and so the worst-case latency,
# just over its bound.
POLL_SLACK = 0.01
# After Ctrl-C or SIGTERM: how long creations whose body is sent may take to answer with their job id
# (so they are in the ledger and can be resumed), and how long uploads still sending get to stop at their
# next block. A second signal leaves at once. Docker and most CI runners allow 10 s from SIGTERM to
# SIGKILL: the grace stays under that.
CREATION_GRACE = 8.0
UPLOAD_STOP_GRACE = 2.0


class Interrupted(SttError):
    exit_code = ExitCode.INTERRUPTED


@dataclass
class Flight:
    """A job creation under way: its ledger note, and whether its request body is all sent."""

    input: str
    token: str
    sent: bool = False


# An input the run never reached: --fail-fast, a rejected key, or an interrupt stopped it first.
NOT_STARTED = "not_started"


def poll_delay(elapsed: float, fixed: float | None = None) -> float:
    """Adaptive polling: 1 s at first, then 10% of the time waited so far, capped at 10 s."""
    if fixed is not None:
        return fixed
    return min(POLL_CAP, max(POLL_START, POLL_GROWTH * elapsed))


@dataclass
class RunOptions:
    job: JobOptions
    formats: list[str]
    render: Any  # writers.RenderOptions
    output: str | None = None
    output_dir: Path | None = None
    wait: bool = True
    timeout: float = 1800.0
    poll_interval: float | None = None
    force: bool = False
    skip_existing: bool = False
    fail_fast: bool = False
    jobs: int = 4
    json_lines: bool = False


@dataclass
class Outcome:
    input: str
    job_id: str | None = None
    status: str = "pending"
    outputs: list[str] = field(default_factory=list)
    error: SttError | None = None
    reported: bool = False  # its --json line is written (under the stdout lock)

    def to_json(self) -> dict[str, Any]:
        if self.status == NOT_STARTED:
            error, code = "not started: the run stopped early", None
        else:
            error = self.error.message if self.error else None
            code = int(self.error.exit_code) if self.error else 0
        return {"input": self.input, "job_id": self.job_id, "status": self.status, "outputs": self.outputs,
                "error": error, "exit_code": code}


class Session:
    """What one ``stt`` invocation works with: settings, stderr UI, HTTP, provider and ledger."""

    def __init__(self, settings: Settings, ui: Ui, *, retries: int = 4, need_key: bool = True,
                 max_upload_mb: float | None = None):
        self.settings = settings
        self.max_upload_mb = max_upload_mb
        self.ui = ui
        if need_key and not settings.api_key:
            check_key_not_needed(settings)
        warn_plain_http(settings, ui)
        # A sync server answers only once the whole file is transcribed: allow it far longer.
        read_timeout = SYNC_READ_TIMEOUT if settings.provider == "openai" else READ_TIMEOUT
        self.http = Http(settings.base_url, settings.api_key, retries=retries, log=ui.log,
                         on_retry=self._on_retry, read_timeout=read_timeout)
        self.ledger = Ledger()
        self.cancel = threading.Event()
        self.stop_new = threading.Event()
        self.inflight: dict[str, tuple[str, str]] = {}  # job id -> (input, resume command)
        self.stdout_lock = threading.Lock()
        self.stdout_closed = False
        self._submit_locks: dict[tuple[str, str], threading.Lock] = {}
        self._submit_locks_guard = threading.Lock()
        self._submitted: set[tuple[str, str]] = set()
        self._thread = threading.local()  # each worker's view and creation under way
        self._json_sealed = False
        self._flights: dict[int, Flight] = {}  # worker thread id -> its creation under way
        self._flights_changed = threading.Condition()

    def _on_retry(self, note: str) -> None:
        view = getattr(self._thread, "view", None)
        if view is not None:
            view.update(note)

    def provider(self, view: JobView | None = None) -> Provider:
        def on_block(sent: int, total: int) -> None:
            if sent >= total:
                self._body_sent()
            elif self.cancel.is_set():
                # Interrupted mid-upload: stop before the next block. The last bytes go out only after
                # this check, so a body stopped here is never complete and creates no job.
                raise Interrupted("interrupted during the upload")
            if view is not None:
                view.upload(sent, total)

        return make_provider(self.settings.provider, self.http, upload_progress=on_block,
                             max_upload_mb=self.max_upload_mb, warn=self.ui.warn)

    @contextmanager
    def _creation(self, name: str, token: str, uploads: bool) -> Iterator[None]:
        flight = Flight(name, token, sent=not uploads)
        with self._flights_changed:
            self._flights[threading.get_ident()] = flight
        try:
            yield
        finally:
            with self._flights_changed:
                self._flights.pop(threading.get_ident(), None)
                self._flights_changed.notify_all()

    def _body_sent(self) -> None:
        with self._flights_changed:
            flight = self._flights.get(threading.get_ident())
            if flight is not None:
                flight.sent = True

    def _await_creations(self) -> list[Flight]:
        """After an interrupt: let creations already sent learn their id, so none is lost; return those
        still under way when it is time to leave."""
        started = time.monotonic()
        warned = False
        try:
            with self._flights_changed:
                while self._flights:
                    waited = time.monotonic() - started
                    sent = [f for f in self._flights.values() if f.sent]
                    uploading = len(self._flights) - len(sent)
                    if (not sent or waited >= CREATION_GRACE) and (not uploading or waited >= UPLOAD_STOP_GRACE):
                        break
                    if sent and not warned and waited > 0.3:
                        warned = True
                        self.ui.warn(f"waiting up to {CREATION_GRACE:g}s for the server to answer {len(sent)} "
                                     "submission(s) already sent, so they can be resumed (interrupt again to "
                                     "leave now)")
                    self._flights_changed.wait(0.05)
        except KeyboardInterrupt:
            pass  # a second interrupt: leave now
        with self._flights_changed:
            left = list(self._flights.values())
        for flight in left:
            if not flight.sent:
                # Its body can no longer be completed (see on_block): no job can exist, nothing to warn of.
                self.ledger.end_submission(flight.token)
        return left

    def close(self) -> None:
        self.http.close()
        self.ledger.close()

    def emit(self, text: str) -> None:
        """Write data to stdout (never progress).

        When the reader goes away (``stt … | head -1``) the run stops: nothing is left to read it. Jobs
        already submitted stay in the ledger, so the same command resumes them.
        """
        with self.stdout_lock:
            self._write_locked(text)

    def _write_locked(self, text: str) -> None:
        if self.stdout_closed:
            return
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:
            self.stdout_closed = True
            self.cancel.set()

    def emit_json(self, outcome: Outcome) -> None:
        """An input's --json line, once: after the run has sealed stdout, workers still running add none."""
        with self.stdout_lock:
            if outcome.reported or self._json_sealed:
                return
            outcome.reported = True
            self._write_locked(json.dumps(outcome.to_json(), ensure_ascii=False) + "\n")

    # -- one job ---------------------------------------------------------------------------------

    def record_submission(self, source: AudioSource, options: JobOptions, state: JobState) -> None:
        s = self.settings
        self.ledger.add(job_id=state.job_id, provider=s.provider, base_url=s.base_url,
                        model=options.model, input=_ledger_input(source), input_sha256=source.sha256(),
                        options=options.ledger_key(), status=state.status, state=state.state,
                        result=state.result, error=state.error)

    def find_resumable(self, source: AudioSource, options: JobOptions) -> JobRecord | None:
        s = self.settings
        return self.ledger.find_reusable(provider=s.provider, base_url=s.base_url, model=options.model,
                                         input_sha256=source.sha256(), options=options.ledger_key())

    def wait_for_job(self, provider: Provider, job_id: str, *, view: JobView | None, timeout: float,
                     poll_interval: float | None, first_delay: float, resume: str | None = None) -> JobState:
        """Poll until the job ends; any way of giving up while it runs says how to resume (``resume``)."""
        resume = resume or f"stt fetch {job_id} --wait"
        started = time.monotonic()
        delay = first_delay
        while True:
            if delay and self.cancel.wait(delay):
                raise Interrupted(f"interrupted while waiting for job {job_id}")
            sent = time.monotonic()
            try:
                state = provider.poll(job_id)
            except SttError as exc:
                if isinstance(exc, ApiError) and exc.status == 404:
                    raise  # the server does not know the job: there is nothing to resume
                # The job itself is fine as far as anyone knows: only asking about it failed.
                exc.message = f"{exc.message} (while waiting for job {job_id})"
                exc.hint = f"the job may still be running; resume with: {resume}"
                raise
            self.save_state(state)
            if state.state == COMPLETED:
                return state
            if state.state == FAILED:
                raise JobFailedError(f"job {job_id} failed on the server: {state.error}",
                                     hint="the audio may be unsupported or corrupt; try another model")
            elapsed = time.monotonic() - started
            if elapsed >= timeout:
                raise JobPendingError(f"job {job_id} is still {state.status} after {timeout:g}s",
                                      hint=f"fetch it later: {resume}")
            if view is not None:
                view.update(f"{state.status} · job {job_id}")
            # Count the wait from when this poll was sent: the request and the ledger write must not
            # stretch the gap between polls (the gap is the worst-case result latency).
            spent = time.monotonic() - sent
            interval = poll_delay(sent - started, poll_interval)
            slack = min(POLL_SLACK, 0.02 * interval)
            delay = max(0.0, min(interval - spent - slack, timeout - elapsed))

    def save_state(self, state: JobState) -> None:
        s = self.settings
        self.ledger.update(state.job_id, provider=s.provider, base_url=s.base_url, status=state.status,
                           state=state.state, result=state.result, error=state.error)

    # -- many inputs -----------------------------------------------------------------------------

    def run(self, names: list[str], opts: RunOptions) -> list[Outcome]:
        several = len(names) > 1
        single_to_stdout = not several and not opts.json_lines and opts.output_dir is None
        if opts.json_lines and opts.output == STDOUT:
            raise UsageError("--json and -o - both want stdout", hint="write files with -o or --output-dir")
        if opts.wait:
            check_formats(opts.job.model, opts.formats)
            opts.job.needs_timestamps = any(f in CAPTION_FORMATS for f in opts.formats)
        plans = plan_outputs(names, opts.formats, output=opts.output, output_dir=opts.output_dir,
                             single_to_stdout=single_to_stdout)
        outcomes: list[Outcome | None] = [None] * len(names)
        work: queue.Queue[tuple[int, str]] = queue.Queue()
        for item in enumerate(names):
            work.put(item)
        display = self.ui.display(len(names))

        def worker() -> None:
            while not self.stop_new.is_set() and not self.cancel.is_set():
                try:
                    index, name = work.get_nowait()
                except queue.Empty:
                    return
                view = display.job(_label(name))
                self._thread.view = view
                outcome = self._run_one(name, plans[name], opts, view)
                if self.cancel.is_set() and outcome.error is not None:
                    # After Ctrl-C the ledger and connections close under running workers: what fails
                    # then is the interrupt's doing, and the interrupt message already lists the job.
                    outcome.error = Interrupted("interrupted")
                    outcome.status = "pending"
                outcomes[index] = outcome
                self._report(outcome, opts, view)
                if outcome.error is not None and (opts.fail_fast or isinstance(outcome.error, ConfigError)):
                    self.stop_new.set()

        threads = [threading.Thread(target=worker, daemon=True, name=f"stt-worker-{i}")
                   for i in range(max(1, min(opts.jobs, len(names))))]
        with display:
            for thread in threads:
                thread.start()
            try:
                for thread in threads:
                    while thread.is_alive():
                        thread.join(0.1)
            except KeyboardInterrupt:
                self.cancel.set()
                cut_off = self._await_creations()
                try:
                    deadline = time.monotonic() + 1.0
                    for thread in threads:
                        thread.join(max(0.0, deadline - time.monotonic()))
                except KeyboardInterrupt:
                    pass  # leaving already: what matters now is saying how to resume
                if opts.json_lines:
                    self._emit_unreported(names, outcomes, cut_off)
                raise self.interrupted(cut_off) from None
        if self.stdout_closed:
            raise BrokenPipeError
        if opts.json_lines:
            self._emit_unreported(names, outcomes)
        return [o or Outcome(input=n, status=NOT_STARTED) for o, n in zip(outcomes, names, strict=True)]

    def _emit_unreported(self, names: list[str], outcomes: list[Outcome | None],
                         cut_off: list[Flight] | None = None) -> None:
        """--json promises one line per input: those without one yet get it now, and no worker after."""
        with self.stdout_lock:
            self._json_sealed = True
            running = {name: job_id for job_id, (name, _) in list(self.inflight.items())}
            submitting = {flight.input: flight for flight in cut_off or []}
            for name, outcome in zip(names, outcomes, strict=True):
                if outcome is not None and outcome.reported:
                    continue
                if outcome is not None and not isinstance(outcome.error, Interrupted):
                    line = outcome  # finished, its worker not yet at the point of reporting it
                elif name in running:
                    line = Outcome(input=name, job_id=running[name], status="pending",
                                   error=Interrupted("interrupted while waiting"))
                elif name in submitting:
                    line = Outcome(input=name, status="submitting",
                                   error=Interrupted(_cut_off_reason(submitting[name])))
                else:
                    line = Outcome(input=name, status=NOT_STARTED)
                self._write_locked(json.dumps(line.to_json(), ensure_ascii=False) + "\n")

    def interrupted_single(self, job_id: str, command: str) -> Interrupted:
        return Interrupted(f"interrupted; job {job_id} is still running; resume with: {command}")

    def interrupted(self, cut_off: list[Flight] | None = None) -> Interrupted:
        lines = [f"job {job_id} ({name}) is still running; resume with: {command}"
                 for job_id, (name, command) in list(self.inflight.items())]
        lines += [f"{flight.input}: {_cut_off_reason(flight)}" for flight in cut_off or []]
        message = "interrupted" + ("".join(f"\n  {line}" for line in lines) if lines else "")
        return Interrupted(message)

    def _report(self, outcome: Outcome, opts: RunOptions, view: JobView) -> None:
        if isinstance(outcome.error, Interrupted):
            view.finish(None)  # the interrupt message lists it, with how to resume
            return
        if not opts.wait and not opts.json_lines and outcome.job_id and outcome.error is None:
            # Each id as soon as it is recorded: after a failure or Ctrl-C the ids so far are on stdout.
            self.emit(f"{outcome.job_id}\n")
        if opts.json_lines:
            self.emit_json(outcome)
        if outcome.error is not None:
            line = f"failed {outcome.input}: {outcome.error.message}"
        elif outcome.status == "skipped":
            line = f"skipped {outcome.input} (outputs exist)"
        elif not opts.wait and outcome.status == "resumed":
            line = f"already submitted {outcome.input}: job {outcome.job_id}"
        elif not opts.wait:
            line = f"submitted {outcome.input}: job {outcome.job_id}"
        else:
            line = f"done {outcome.input} -> {', '.join(outcome.outputs) or 'stdout'}"
        view.finish(line)

    def _run_one(self, name: str, plan: dict[str, str], opts: RunOptions, view: JobView) -> Outcome:
        outcome = Outcome(input=name)
        source: AudioSource | None = None
        try:
            files = [p for p in plan.values() if p != STDOUT]
            if opts.skip_existing and opts.wait and files and all(Path(p).exists() for p in files):
                outcome.status = "skipped"
                outcome.outputs = files
                return outcome
            source = open_source(name)
            provider = self.provider(view)
            state = self._submit_or_resume(provider, source, opts, view, outcome)
            if not opts.wait:
                return outcome
            if state.state != COMPLETED:
                state = self._wait(provider, source, state, opts, plan, view, outcome)
            outcome.outputs = self.render_and_write(state, opts, plan)
            outcome.status = "completed"
        except SttError as exc:
            outcome.error = exc
            outcome.status = "failed" if not isinstance(exc, JobPendingError) else "pending"
        except Exception as exc:  # a bug: report it for this input, keep the batch going
            outcome.error = SttError(f"internal error: {type(exc).__name__}: {exc}",
                                     hint="run with --debug for the traceback")
            outcome.status = "failed"
            if self.ui.debug:
                self.ui.print(traceback.format_exc())
        finally:
            if source is not None and source.kind == "stdin" and source.path is not None:
                source.path.unlink(missing_ok=True)
        return outcome

    def _wait(self, provider: Provider, source: AudioSource, state: JobState, opts: RunOptions,
              plan: dict[str, str], view: JobView, outcome: Outcome) -> JobState:
        while True:
            job_id = state.job_id
            command = resume_command(job_id, opts.formats, plan)
            self.inflight[job_id] = (outcome.input, command)
            resumed = outcome.status == "resumed"
            try:
                # A resumed job may be done already: ask at once. A fresh one needs a moment.
                first = 0.0 if resumed else poll_delay(0, opts.poll_interval)
                return self.wait_for_job(provider, job_id, view=view, timeout=opts.timeout,
                                         poll_interval=opts.poll_interval, first_delay=first, resume=command)
            except ApiError as exc:
                if exc.status != 404 or not resumed:
                    raise
            finally:
                if not self.cancel.is_set():
                    self.inflight.pop(job_id, None)
            # The ledger's pending job is unknown to the server (expired, or another account's): anew.
            self.save_state(JobState(job_id, FAILED, "expired", error="unknown to the server"))
            self.ui.warn(f"job {job_id} for {source.name} is unknown to the server (expired?); submitting again")
            state = self._submit_or_resume(provider, source, opts, view, outcome)
            if state.state == COMPLETED:
                return state

    def _submit_or_resume(self, provider: Provider, source: AudioSource, opts: RunOptions, view: JobView,
                          outcome: Outcome) -> JobState:
        # One submission per audio content and options in a run, whatever the file names: a worker that
        # finds another one submitting the same audio waits for it, then resumes its job.
        key = (source.sha256(), json.dumps(opts.job.ledger_key(), sort_keys=True))
        with self._submit_locks_guard:
            lock = self._submit_locks.setdefault(key, threading.Lock())
        with lock:
            return self._submit_or_resume_locked(provider, source, opts, view, outcome, key)

    def _submit_or_resume_locked(self, provider: Provider, source: AudioSource, opts: RunOptions,
                                 view: JobView, outcome: Outcome, key: tuple[str, str]) -> JobState:
        if not opts.force or key in self._submitted:
            record = self.find_resumable(source, opts.job)
            if record is not None:
                outcome.job_id = record.id
                outcome.status = "resumed"
                view.update(f"resuming job {record.id}")
                self.ui.log(f"{source.name}: found job {record.id} ({record.status}) in the ledger; "
                            "not submitting again (--force to submit anew)")
                return JobState(record.id, record.state, record.status, result=record.result)
        view.update("uploading" if source.kind != "url" else "submitting")
        s = self.settings
        token, unfinished = self.ledger.begin_submission(
            provider=s.provider, base_url=s.base_url, model=opts.job.model, input=_ledger_input(source),
            input_sha256=source.sha256(), options=opts.job.ledger_key())
        if unfinished is not None:
            self.ui.warn(f"an earlier run submitted {source.name} but never received the job id; the server may "
                         "hold that job (it cannot be resumed, and may be billed). Submitting again.")
        # A URL sent to an async API is a small JSON body: sent as soon as the request starts.
        uploads = source.kind != "url" or not provider.is_async
        with self._creation(outcome.input, token, uploads):
            try:
                state = provider.submit(source, opts.job)
            except SttError as exc:
                # Refused outright: no job exists, nothing to warn about later. Otherwise the row stays,
                # and the next run for this audio says a job may exist whose id never arrived.
                if not exc.job_may_exist:
                    self.ledger.end_submission(token)
                raise
            # The id is on disk before any polling: an interrupted run can always resume this job.
            self.record_submission(source, opts.job, state)
            self._submitted.add(key)
            self.ledger.end_submission(token)
        outcome.job_id = state.job_id
        outcome.status = "submitted"
        if not provider.is_async and state.state == COMPLETED:
            outcome.status = "completed"
        return state

    def render_and_write(self, state: JobState, opts: RunOptions, plan: dict[str, str],
                         model: str | None = None) -> list[str]:
        from stt_cli.transcript import normalize

        transcript = normalize(state.result, provider=self.settings.provider,
                               model=model or opts.job.model, job_id=state.job_id)
        return write_outputs(transcript, plan, opts.render, self.emit)


def _cut_off_reason(flight: Flight) -> str:
    if flight.sent:
        return ("interrupted before its job id arrived; the server may hold that job, and the next run for "
                "it says so before submitting again")
    return "interrupted during the upload; nothing was submitted"


def resume_command(job_id: str, formats: list[str], plan: dict[str, str]) -> str:
    parts = ["stt", "fetch", _shell_quote(job_id), "--wait"]
    for fmt in formats:
        parts += ["-f", fmt]
    files = [p for p in plan.values() if p != STDOUT]
    if files:
        first = Path(files[0])
        parts += ["-o", _shell_quote(str(first if len(files) == 1 else strip_output_extension(first)))]
    return " ".join(parts)


def _shell_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _label(name: str) -> str:
    return "stdin" if name == "-" else (name if len(name) <= 40 else "…" + name[-39:])


def _ledger_input(source: AudioSource) -> str:
    if source.kind == "file" and source.path is not None:
        return str(source.path.resolve())
    return source.name


def check_key_not_needed(settings: Settings) -> None:
    """Without a key, stop before uploading where the server is known to need one."""
    from stt_cli.providers.openai import key_required

    if settings.provider != "aiml" and not key_required(settings.base_url):
        return
    what = "the aiml provider" if settings.provider == "aiml" else settings.base_url
    if settings.profile:
        # A profile's own server takes only the profile's key: the environment's would not be used.
        hint = f"run: stt config set --profile {settings.profile} api_key"
    else:
        variable = "AIMLAPI_KEY" if settings.provider == "aiml" else "OPENAI_API_KEY"
        hint = f"set STT_API_KEY or {variable}, or run: stt config set api_key"
    raise ConfigError(f"no API key for {what}", hint=hint)


def warn_plain_http(settings: Settings, ui: Ui) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(settings.base_url)
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1") or (parts.hostname or "").startswith("127.")
    if settings.api_key and parts.scheme == "http" and not loopback:
        ui.warn(f"sending the API key over plain http to {parts.hostname}; use https")


def exit_code_for(outcomes: list[Outcome]) -> ExitCode:
    """0 when every input is done (skipped ones were done before); 6 when some are not; when none
    is, the first failure's own code."""
    if all(o.error is None and o.status != NOT_STARTED for o in outcomes):
        return ExitCode.OK
    failed = [o for o in outcomes if o.error is not None]
    if not any(o.error is None and o.status != NOT_STARTED for o in outcomes) and failed:
        return failed[0].error.exit_code  # type: ignore[union-attr]  # nothing succeeded: say why
    return ExitCode.PARTIAL


def summary(outcomes: list[Outcome]) -> list[str]:
    done = sum(1 for o in outcomes if o.error is None and o.status not in ("skipped", NOT_STARTED))
    skipped = sum(1 for o in outcomes if o.status == "skipped" and o.error is None)
    not_started = sum(1 for o in outcomes if o.status == NOT_STARTED)
    failed = [o for o in outcomes if o.error is not None]
    lines = [f"{done} done, {len(failed)} failed, {skipped} skipped"
             + (f", {not_started} not started" if not_started else "")]
    for o in failed:
        lines.append(f"  failed {o.input}: {o.error.message}")  # type: ignore[union-attr]
        if o.error.hint:  # type: ignore[union-attr]
            lines.append(f"    hint: {o.error.hint}")  # type: ignore[union-attr]
    return lines

