"""The command-line interface: parse options, call the core, render, map errors to exit codes.

Nothing heavy is imported at module level (``requests`` in particular), so ``stt --help`` starts fast.
"""

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from stt_cli import __version__
from stt_cli.config import CONFIG_KEYS, PROVIDERS
from stt_cli.errors import BadResponseError, ConfigError, ExitCode, SttError, UsageError

FORMAT_CHOICES = ("text", "json", "raw", "srt", "vtt", "all")

app = typer.Typer(
    name="stt",
    help="Transcripts and captions from recorded audio, through hosted speech-to-text APIs.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
config_app = typer.Typer(help="Read and change the config file.", no_args_is_help=True)
app.add_typer(config_app, name="config")


def _complete_provider(incomplete: str) -> list[str]:
    return [p for p in PROVIDERS if p.startswith(incomplete)]


def _complete_format(incomplete: str) -> list[str]:
    return [f for f in FORMAT_CHOICES if f.startswith(incomplete)]


def _complete_model(incomplete: str) -> list[str]:
    from stt_cli.config import PROVIDER_DEFAULTS, load_file

    try:
        data = load_file()
    except SttError:
        data = {}
    models = {d["model"] for d in PROVIDER_DEFAULTS.values()}
    if isinstance(data.get("model"), str):
        models.add(data["model"])
    for table in (data.get("profiles") or {}).values():
        if isinstance(table, dict) and isinstance(table.get("model"), str):
            models.add(table["model"])
    return sorted(m for m in models if m.startswith(incomplete))


def _complete_profile(incomplete: str) -> list[str]:
    from stt_cli.config import load_file

    try:
        profiles = load_file().get("profiles") or {}
    except SttError:
        return []
    return sorted(p for p in profiles if p.startswith(incomplete))


# Common options: accepted before and after the subcommand. A value given after wins.
Provider = Annotated[str | None, typer.Option("--provider", help="aiml (default) or openai.",
                                              autocompletion=_complete_provider, show_default=False)]
BaseUrl = Annotated[str | None, typer.Option("--base-url", help="API base URL, e.g. http://127.0.0.1:8000/v1.",
                                             show_default=False)]
Profile = Annotated[str | None, typer.Option("--profile", help="Config profile to use.",
                                             autocompletion=_complete_profile, show_default=False)]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log requests and retries to stderr.")]
Debug = Annotated[bool, typer.Option("--debug", help="Verbose, plus tracebacks for unexpected errors.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output on stderr.")]

Model = Annotated[str | None, typer.Option("--model", "-m", help="Model name (default per provider).",
                                           autocompletion=_complete_model, show_default=False)]
Language = Annotated[str | None, typer.Option("--language", "-l", help="Spoken language, e.g. en.",
                                              show_default=False)]
Formats = Annotated[list[str] | None, typer.Option(
    "--format", "-f", help="text, json, raw, srt, vtt or all; repeatable. Default: text.",
    autocompletion=_complete_format, show_default=False)]
Output = Annotated[str | None, typer.Option("--output", "-o", help="Output file; - for stdout; {stem} for "
                                            "several inputs.", show_default=False)]
OutputDir = Annotated[Path | None, typer.Option("--output-dir", "-d", help="Folder for output files.",
                                                file_okay=False, show_default=False)]
Timeout = Annotated[float, typer.Option("--timeout", help="Seconds to wait for a job.", min=0)]
PollInterval = Annotated[float | None, typer.Option("--poll-interval", help="Fixed seconds between polls "
                                                    "(default: adaptive, 1 s growing to 10 s).", min=0.05,
                                                    show_default=False)]
Retries = Annotated[int, typer.Option("--retries", help="Retries per request on rate limits and network "
                                      "errors.", min=0)]
JsonOut = Annotated[bool, typer.Option("--json", help="NDJSON on stdout: one object per input or job.")]
Prompt = Annotated[str | None, typer.Option("--prompt", help="Text to guide the model.", show_default=False)]
Temperature = Annotated[float | None, typer.Option("--temperature", help="Sampling temperature, 0 to 1 (passed to "
                                                   "the API).", min=0.0, max=1.0, show_default=False)]
FromFile = Annotated[str | None, typer.Option("--from-file", help="Read inputs from a file (- for stdin), one per "
                                              "line.", show_default=False)]
Force = Annotated[bool, typer.Option("--force", help="Submit anew even if the ledger has the job.")]
MaxUploadMb = Annotated[float | None, typer.Option("--max-upload-mb", help="Refuse larger files before uploading "
                                                   "(openai: 25).", min=0.001, show_default=False)]
MaxLineWidth = Annotated[int, typer.Option("--max-line-width", help="Caption characters per line.", min=10)]
MaxLines = Annotated[int, typer.Option("--max-lines", help="Caption lines per cue.", min=1)]
MaxCueDuration = Annotated[float, typer.Option("--max-cue-duration", help="Longest caption cue, seconds.",
                                               min=1.0)]
SpeakerNames = Annotated[str | None, typer.Option("--speaker-names", help="Rename speakers: A=Alice,B=Bob.",
                                                  show_default=False)]
NoSpeakerLabels = Annotated[bool, typer.Option("--no-speaker-labels", help="Don't prefix text with speakers.")]


def common(ctx: typer.Context, **given: Any) -> dict[str, Any]:
    """Merge the common options given before the subcommand with those given after it."""
    merged = dict(ctx.find_root().obj or {})
    for key, value in given.items():
        if value not in (None, False):
            merged[key] = value
    return merged


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    provider: Provider = None,
    base_url: BaseUrl = None,
    profile: Profile = None,
    verbose: Verbose = False,
    debug: Debug = False,
    quiet: Quiet = False,
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
) -> None:
    if version:
        typer.echo(f"stt {__version__}")
        raise typer.Exit()
    ctx.obj = {k: v for k, v in {"provider": provider, "base_url": base_url, "profile": profile,
                                  "verbose": verbose, "debug": debug, "quiet": quiet}.items() if v}


def make_ui(opts: dict[str, Any]):  # noqa: ANN201 - avoids importing progress at module level
    from stt_cli.progress import Ui

    debug = bool(opts.get("debug")) or os.environ.get("STT_DEBUG") == "1"
    return Ui(quiet=bool(opts.get("quiet")), verbose=bool(opts.get("verbose")), debug=debug)


def make_settings(opts: dict[str, Any], ui, **flags: str | None):  # noqa: ANN001, ANN201
    from stt_cli import config

    settings = config.resolve({"provider": opts.get("provider"), "base_url": opts.get("base_url"),
                               "profile": opts.get("profile"), **flags})
    if config.file_is_exposed():
        ui.warn(f"{config.config_path()} is readable by other users; run: chmod 600 {config.config_path()}")
    _STATE["secret"] = settings.api_key
    return settings


def expand_formats(formats: list[str] | None, default: str | None) -> list[str]:
    from stt_cli.writers import ALL_FORMATS

    chosen: list[str] = []
    for fmt in formats or [default or "text"]:
        fmt = fmt.lower()
        if fmt not in FORMAT_CHOICES:
            raise UsageError(f"unknown format {fmt!r}", hint=f"choose from: {', '.join(FORMAT_CHOICES)}")
        for name in ALL_FORMATS if fmt == "all" else [fmt]:
            if name not in chosen:
                chosen.append(name)
    return chosen


def render_options(max_line_width: int, max_lines: int, max_cue_duration: float, speaker_names: str | None,
                   no_speaker_labels: bool):  # noqa: ANN201
    from stt_cli.writers import RenderOptions, parse_speaker_names

    return RenderOptions(
        speaker_labels=not no_speaker_labels,
        speaker_names=parse_speaker_names(speaker_names) if speaker_names else {},
        max_line_width=max_line_width, max_lines=max_lines, max_cue_duration=max_cue_duration,
    )


def gather_inputs(inputs: list[str] | None, from_file: str | None) -> list[str]:
    from stt_cli.inputs import expand_inputs, read_input_list

    names = list(inputs or [])
    if from_file:
        if from_file == "-" and "-" in names:
            raise UsageError("stdin cannot be both the input list and an input")
        names += read_input_list(from_file)
    if not names:
        raise UsageError("no input given", hint="pass audio files, URLs, or - for stdin")
    return expand_inputs(names)


def run_inputs(ctx: typer.Context, *, wait: bool, inputs: list[str] | None, from_file: str | None,
               flags: dict[str, Any], job: dict[str, Any], run: dict[str, Any]) -> None:
    from stt_cli.providers import JobOptions
    from stt_cli.runner import RunOptions, Session, exit_code_for, summary

    opts = common(ctx, **flags)
    ui = make_ui(opts)
    names = gather_inputs(inputs, from_file)
    settings = make_settings(opts, ui, model=job.pop("model"), language=job.pop("language"))
    job_options = JobOptions(model=settings.model, language=settings.language, **job)
    formats = expand_formats(run.pop("formats"), settings.format)
    session = Session(settings, ui, retries=run.pop("retries"), max_upload_mb=run.pop("max_upload_mb"))
    try:
        outcomes = session.run(names, RunOptions(job=job_options, formats=formats, wait=wait, **run))
    finally:
        session.close()
    if session.stdout_closed:
        raise BrokenPipeError
    code = exit_code_for(outcomes)
    if len(outcomes) == 1 and outcomes[0].error is not None:
        raise outcomes[0].error
    if len(outcomes) > 1:
        for line in summary(outcomes):
            if code != ExitCode.OK or not ui.quiet:
                ui.print(f"stt: {line}")
    raise typer.Exit(int(code))


@app.command()
def transcribe(
    ctx: typer.Context,
    inputs: Annotated[list[str] | None, typer.Argument(help="Audio files, folders, http(s) URLs, or - for "
                                                       "stdin.", show_default=False)] = None,
    model: Model = None,
    language: Language = None,
    prompt: Prompt = None,
    temperature: Temperature = None,
    formats: Formats = None,
    output: Output = None,
    output_dir: OutputDir = None,
    from_file: FromFile = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Inputs in flight at once.", min=1)] = 4,
    skip_existing: Annotated[bool, typer.Option("--skip-existing", help="Skip inputs whose outputs exist.")]
    = False,
    force: Force = False,
    fail_fast: Annotated[bool, typer.Option("--fail-fast", help="Stop starting inputs after a failure.")]
    = False,
    json_lines: JsonOut = False,
    timeout: Timeout = 1800.0,
    poll_interval: PollInterval = None,
    retries: Retries = 4,
    max_upload_mb: MaxUploadMb = None,
    max_line_width: MaxLineWidth = 42,
    max_lines: MaxLines = 2,
    max_cue_duration: MaxCueDuration = 7.0,
    speaker_names: SpeakerNames = None,
    no_speaker_labels: NoSpeakerLabels = False,
    provider: Provider = None,
    base_url: BaseUrl = None,
    profile: Profile = None,
    verbose: Verbose = False,
    debug: Debug = False,
    quiet: Quiet = False,
) -> None:
    """Transcribe audio and print or write the transcript.

    Example: stt transcribe talk.mp3 -f srt -o talk.srt
    """
    run_inputs(
        ctx, wait=True, inputs=inputs, from_file=from_file,
        flags={"provider": provider, "base_url": base_url, "profile": profile, "verbose": verbose,
               "debug": debug, "quiet": quiet},
        job={"model": model, "language": language, "prompt": prompt, "temperature": temperature},
        run={"formats": formats, "output": output, "output_dir": output_dir, "jobs": jobs,
             "skip_existing": skip_existing, "force": force, "fail_fast": fail_fast, "json_lines": json_lines,
             "timeout": timeout, "poll_interval": poll_interval, "retries": retries,
             "max_upload_mb": max_upload_mb,
             "render": render_options(max_line_width, max_lines, max_cue_duration, speaker_names,
                                      no_speaker_labels)},
    )


@app.command()
def submit(
    ctx: typer.Context,
    inputs: Annotated[list[str] | None, typer.Argument(help="Audio files, folders, http(s) URLs, or - for "
                                                       "stdin.", show_default=False)] = None,
    model: Model = None,
    language: Language = None,
    prompt: Prompt = None,
    temperature: Temperature = None,
    from_file: FromFile = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Submissions in flight at once.", min=1)] = 4,
    force: Force = False,
    fail_fast: Annotated[bool, typer.Option("--fail-fast", help="Stop after the first failure.")] = False,
    json_lines: JsonOut = False,
    retries: Retries = 4,
    max_upload_mb: MaxUploadMb = None,
    provider: Provider = None,
    base_url: BaseUrl = None,
    profile: Profile = None,
    verbose: Verbose = False,
    debug: Debug = False,
    quiet: Quiet = False,
) -> None:
    """Create transcription jobs and print their ids, one per line.

    Example: id=$(stt submit talk.mp3)
    """
    from stt_cli.writers import RenderOptions

    run_inputs(
        ctx, wait=False, inputs=inputs, from_file=from_file,
        flags={"provider": provider, "base_url": base_url, "profile": profile, "verbose": verbose,
               "debug": debug, "quiet": quiet},
        job={"model": model, "language": language, "prompt": prompt, "temperature": temperature},
        run={"formats": ["json"], "output": None, "output_dir": None, "jobs": jobs, "force": force,
             "fail_fast": fail_fast, "json_lines": json_lines, "retries": retries,
             "max_upload_mb": max_upload_mb, "render": RenderOptions()},
    )


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@app.command()
def status(
    ctx: typer.Context,
    job_ids: Annotated[list[str] | None, typer.Argument(help="Job ids; none: recent jobs from the local "
                                                        "ledger.", show_default=False)] = None,
    json_lines: JsonOut = False,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many recent jobs to list.", min=1)] = 20,
    retries: Retries = 4,
    provider: Provider = None,
    base_url: BaseUrl = None,
    profile: Profile = None,
    verbose: Verbose = False,
    debug: Debug = False,
    quiet: Quiet = False,
) -> None:
    """Show job status: <id><TAB><status>, from the server.

    Example: stt status 3f2a… ; with no ids: the recent jobs from the local ledger.
    """
    from stt_cli.ledger import Ledger

    opts = common(ctx, provider=provider, base_url=base_url, profile=profile, verbose=verbose, debug=debug,
                  quiet=quiet)
    ui = make_ui(opts)
    out = sys.stdout
    if not job_ids:
        ledger = Ledger()
        now = time.time()
        for rec in ledger.recent(limit):
            if json_lines:
                out.write(json.dumps({"job_id": rec.id, "status": rec.status, "state": rec.state,
                                      "input": rec.input, "model": rec.model, "provider": rec.provider,
                                      "created_at": rec.created_at, "error": rec.error}) + "\n")
            else:
                out.write(f"{rec.id}\t{rec.status}\t{rec.input}\t{rec.model}\t{_age(now - rec.created_at)}\n")
        ledger.close()
        return
    first_error: SttError | None = None
    for job_id in job_ids:
        try:
            state = _job_state(opts, ui, job_id, retries)
        except SttError as exc:
            if json_lines:
                out.write(json.dumps({"job_id": job_id, "status": None, "error": exc.message}) + "\n")
            _print_error(exc.message, exc.hint)
            first_error = first_error or exc
            continue
        if json_lines:
            out.write(json.dumps({"job_id": state.job_id, "status": state.status, "state": state.state,
                                  "error": state.error}) + "\n")
        else:
            out.write(f"{state.job_id}\t{state.status}\n")
        out.flush()
    if first_error is not None:
        raise typer.Exit(int(first_error.exit_code))


def _stem_of(name: str) -> str:
    from stt_cli.inputs import AudioSource, is_url

    return AudioSource(kind="url", name=name, url=name).stem if is_url(name) else Path(name).stem


def _session_for_job(opts: dict[str, Any], ui, job_id: str, retries: int):  # noqa: ANN001, ANN202
    """A session pointed where the job was created (provider, base URL), unless flags say otherwise."""
    from stt_cli.ledger import Ledger
    from stt_cli.runner import Session

    if not job_id.strip():
        raise UsageError("the job id is empty", hint="`stt status` lists local jobs")
    ledger = Ledger()
    record = ledger.get(job_id)
    ledger.close()
    flags: dict[str, str | None] = {}
    if record is not None and not opts.get("provider") and not opts.get("base_url"):
        flags = {"provider": record.provider, "base_url": record.base_url}
    merged = {**opts, **{k: v for k, v in flags.items() if v}}
    settings = make_settings(merged, ui)
    need_key = record is None or record.state != "completed"
    return Session(settings, ui, retries=retries, need_key=need_key), record


def _job_state(opts: dict[str, Any], ui, job_id: str, retries: int):  # noqa: ANN001, ANN202
    from stt_cli.providers import JobState

    session, record = _session_for_job(opts, ui, job_id, retries)
    try:
        if record is not None and (record.state != "pending" or not session.provider().is_async):
            return JobState(record.id, record.state, record.status, result=record.result, error=record.error)
        if record is None and not session.provider().is_async:
            raise UsageError(f"unknown job id {job_id!r}", hint="`stt status` lists local jobs")
        state = session.provider().poll(job_id)
        if record is not None:
            session.save_state(state)
        return state
    finally:
        session.close()


@app.command()
def fetch(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(help="The job id printed by submit.", show_default=False)],
    formats: Formats = None,
    output: Output = None,
    output_dir: OutputDir = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for a job still running.")] = False,
    timeout: Timeout = 1800.0,
    poll_interval: PollInterval = None,
    retries: Retries = 4,
    max_line_width: MaxLineWidth = 42,
    max_lines: MaxLines = 2,
    max_cue_duration: MaxCueDuration = 7.0,
    speaker_names: SpeakerNames = None,
    no_speaker_labels: NoSpeakerLabels = False,
    provider: Provider = None,
    base_url: BaseUrl = None,
    profile: Profile = None,
    verbose: Verbose = False,
    debug: Debug = False,
    quiet: Quiet = False,
) -> None:
    """Write the result of a job; cached results are served without a request.

    Example: stt fetch 3f2a… -f srt -o talk.srt --wait
    """
    from stt_cli.errors import JobFailedError, JobPendingError
    from stt_cli.outputs import check_output_options, output_paths, refuse_overwriting_inputs
    from stt_cli.providers import JobOptions, JobState
    from stt_cli.runner import RunOptions, poll_delay, resume_command

    opts = common(ctx, provider=provider, base_url=base_url, profile=profile, verbose=verbose, debug=debug,
                  quiet=quiet)
    ui = make_ui(opts)
    check_output_options(output, output_dir)
    session, record = _session_for_job(opts, ui, job_id, retries)
    try:
        chosen = expand_formats(formats, session.settings.format)
        stem = _stem_of(record.input) if record is not None and record.input not in ("-", job_id) else job_id
        base = (output_dir or Path(".")) / stem
        plan = output_paths(stem_path=base, stem=stem, formats=chosen, output=output, several_inputs=False,
                            single_to_stdout=output_dir is None)
        if record is not None:
            refuse_overwriting_inputs(plan, [record.input])
        model = record.model if record is not None else session.settings.model
        if record is not None and record.state == "completed" and record.result is not None:
            state = JobState(record.id, "completed", record.status, result=record.result)
        elif record is not None and record.state == "failed":
            raise JobFailedError(f"job {job_id} failed on the server: {record.error}")
        else:
            provider_api = session.provider()
            state = provider_api.poll(job_id)
            if record is None:
                session.ledger.add(job_id=job_id, provider=session.settings.provider,
                                   base_url=session.settings.base_url, model=model, input=job_id,
                                   input_sha256=None, options={}, status=state.status, state=state.state,
                                   result=state.result, error=state.error)
            else:
                session.save_state(state)
            if state.state == "failed":
                raise JobFailedError(f"job {job_id} failed on the server: {state.error}")
            if state.state != "completed":
                if not wait:
                    raise JobPendingError(f"job {job_id} is still {state.status}",
                                          hint=f"wait for it: {resume_command(job_id, chosen, plan)}")
                # How to come back: this same fetch (its formats and files), not a bare one.
                command = resume_command(job_id, chosen, plan)
                display = ui.display(1)
                with display:
                    view = display.job(job_id)
                    try:
                        state = session.wait_for_job(provider_api, job_id, view=view, timeout=timeout,
                                                     poll_interval=poll_interval,
                                                     first_delay=poll_delay(0, poll_interval), resume=command)
                    except KeyboardInterrupt:
                        raise session.interrupted_single(job_id, command) from None  # noqa: B904
        run = RunOptions(job=JobOptions(model=model), formats=chosen,
                         render=render_options(max_line_width, max_lines, max_cue_duration, speaker_names,
                                               no_speaker_labels))
        session.render_and_write(state, run, plan, model=model)
    finally:
        session.close()


@app.command()
def convert(
    result: Annotated[str, typer.Argument(help="A saved result: our JSON or a provider's raw payload; - for "
                                          "stdin.", show_default=False)],
    formats: Formats = None,
    output: Output = None,
    output_dir: OutputDir = None,
    max_line_width: MaxLineWidth = 42,
    max_lines: MaxLines = 2,
    max_cue_duration: MaxCueDuration = 7.0,
    speaker_names: SpeakerNames = None,
    no_speaker_labels: NoSpeakerLabels = False,
) -> None:
    """Render a saved result into any format, offline.

    Example: stt convert talk.json -f srt -f vtt
    """
    from stt_cli.outputs import check_output_options, output_paths, refuse_overwriting_inputs, write_outputs
    from stt_cli.transcript import normalize

    check_output_options(output, output_dir)

    try:
        data = sys.stdin.buffer.read() if result == "-" else Path(result).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {result}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{result} is not a transcript (binary data)",
                         hint="to transcribe audio, use: stt transcribe") from None
    if not text.strip():
        raise UsageError(f"{result} is empty")
    try:
        payload: Any = json.loads(text)
    except ValueError:
        payload = text  # a plain-text transcript is a valid (timestamp-free) source
    try:
        transcript = normalize(payload)
    except BadResponseError as exc:  # for convert, an unknown payload is bad input, not a server fault
        raise UsageError(f"{result}: {exc.message}") from None
    chosen = expand_formats(formats, "text")
    stem = "stdin" if result == "-" else Path(result).stem
    base = (output_dir or Path(result).parent if result != "-" else output_dir or Path(".")) / stem
    plan = output_paths(stem_path=base, stem=stem, formats=chosen, output=output, several_inputs=False,
                        single_to_stdout=output_dir is None)
    if result != "-":
        refuse_overwriting_inputs(plan, [result])
    options = render_options(max_line_width, max_lines, max_cue_duration, speaker_names, no_speaker_labels)
    write_outputs(transcript, plan, options, sys.stdout.write)


# -- config ---------------------------------------------------------------------------------------

ConfigProfile = Annotated[str | None, typer.Option("--profile", help="Profile to read or change.",
                                                   autocompletion=_complete_profile, show_default=False)]


def _complete_config_key(incomplete: str) -> list[str]:
    return [k for k in CONFIG_KEYS if k.startswith(incomplete)]


ConfigKey = Annotated[str, typer.Argument(help=f"One of: {', '.join(CONFIG_KEYS)}.", show_default=False,
                                          autocompletion=_complete_config_key)]


def _check_key(key: str) -> str:
    if key not in CONFIG_KEYS:
        raise UsageError(f"unknown config key {key!r}", hint=f"keys: {', '.join(CONFIG_KEYS)}")
    return key


def _table(data: dict[str, Any], profile: str | None, create: bool = False) -> dict[str, Any]:
    if not profile:
        return data
    profiles = data.setdefault("profiles", {}) if create else data.get("profiles", {})
    if create:
        return profiles.setdefault(profile, {})
    return profiles.get(profile, {})


def _shown(key: str, value: Any) -> str:
    return "***" if key == "api_key" and value else str(value)


@config_app.command("path")
def config_path_cmd() -> None:
    """Print the config file's path."""
    from stt_cli.config import config_path

    typer.echo(str(config_path()))


@config_app.command("list")
def config_list(profile: ConfigProfile = None) -> None:
    """List the settings in the config file (the key is shown as ***)."""
    from stt_cli.config import load_file

    data = load_file()
    for key, value in _table(data, profile).items():
        if key in CONFIG_KEYS:
            typer.echo(f"{key} = {_shown(key, value)}")
    if not profile:
        for name, table in (data.get("profiles") or {}).items():
            for key, value in (table or {}).items():
                typer.echo(f"profiles.{name}.{key} = {_shown(key, value)}")


@config_app.command("get")
def config_get(key: ConfigKey, profile: ConfigProfile = None) -> None:
    """Print one setting; exit 1 when it is not set."""
    from stt_cli.config import load_file

    value = _table(load_file(), profile).get(_check_key(key))
    if value in (None, ""):
        raise typer.Exit(1)
    typer.echo(_shown(key, value))


@config_app.command("set")
def config_set(
    key: ConfigKey,
    value: Annotated[str | None, typer.Argument(help="The value (not for api_key: it is read from a hidden "
                                                "prompt or stdin).", show_default=False)] = None,
    profile: ConfigProfile = None,
) -> None:
    """Set a setting. The API key is read from a hidden prompt or stdin, never from arguments.

    Example: stt config set model '#g1_whisper-large' ; echo "$KEY" | stt config set api_key
    """
    from stt_cli.config import load_file, save_file

    _check_key(key)
    if key == "api_key":
        if value is not None:
            raise UsageError("the API key is not taken as an argument (it would show in ps and shell history)",
                             hint="run `stt config set api_key` and type it, or pipe it on stdin")
        if sys.stdin.isatty():
            import getpass

            value = getpass.getpass("API key: ")
        else:
            value = sys.stdin.readline()
        value = value.strip()
        if not value:
            raise UsageError("no API key given")
    elif value is None:
        raise UsageError(f"config set {key} needs a value")
    if key == "provider" and value not in PROVIDERS:
        raise UsageError(f"unknown provider {value!r}", hint=f"choose one of: {', '.join(PROVIDERS)}")
    if key == "format" and value not in FORMAT_CHOICES:
        raise UsageError(f"unknown format {value!r}", hint=f"choose from: {', '.join(FORMAT_CHOICES)}")
    data = load_file()
    _table(data, profile, create=True)[key] = value
    save_file(data)


@config_app.command("unset")
def config_unset(key: ConfigKey, profile: ConfigProfile = None) -> None:
    """Remove a setting."""
    from stt_cli.config import load_file, save_file

    data = load_file()
    _table(data, profile).pop(_check_key(key), None)
    save_file(data)


# -- the error boundary ---------------------------------------------------------------------------

_STATE: dict[str, Any] = {"secret": None}


def _redact(text: str) -> str:
    secret = _STATE.get("secret")
    return text.replace(secret, "***") if secret and len(secret) >= 4 else text


def _print_error(message: str, hint: str | None = None) -> None:
    lines = _redact(message).splitlines() or [""]
    sys.stderr.write(f"stt: error: {lines[0]}\n")
    for line in lines[1:]:
        sys.stderr.write(f"{line}\n")
    if hint:
        sys.stderr.write(f"stt: hint: {_redact(hint)}\n")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> None:
    """Run the app; the one place exceptions become messages and exit codes."""
    click = _click_exceptions()
    _treat_sigterm_as_interrupt()
    debug = os.environ.get("STT_DEBUG") == "1" or "--debug" in (argv if argv is not None else sys.argv[1:])
    command = typer.main.get_command(app)
    stdout_before = _file_identity(1)
    try:
        result = command.main(args=argv, prog_name="stt", standalone_mode=False)
        code = result if isinstance(result, int) else 0
        if code == ExitCode.INTERRUPTED:
            # Typer turns a Ctrl-C that no command caught (a prompt, say) into a quiet 130; ours are
            # raised as errors and printed below, so this one still needs its line.
            _print_error("interrupted")
    except typer.Exit as exc:
        code = exc.exit_code
    except getattr(click, "NoArgsIsHelpError", ()):  # click >= 8.2
        code = ExitCode.USAGE  # the help is already shown: no empty error line after it
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "stt"
        _print_error(exc.format_message(), hint=f"see `{where} --help`")
        code = ExitCode.USAGE
    except click.ClickException as exc:
        _print_error(exc.format_message())
        code = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        _print_error("interrupted")
        code = ExitCode.INTERRUPTED
    except SttError as exc:
        if debug and not isinstance(exc, ConfigError | UsageError):
            import traceback

            traceback.print_exc()
        _print_error(exc.message, exc.hint)
        code = exc.exit_code
    except BrokenPipeError:
        code = _broken_pipe()
    except SystemExit:
        # A closed stdout (`stt status | head -1`) is the reader leaving, not a failure, and every
        # command treats it the same. Typer and Rich each turn it into exit(1) on their own.
        if not _reader_left(stdout_before):
            raise
        code = _broken_pipe()
    except Exception as exc:  # noqa: BLE001 - the boundary: anything else is a bug, shown in one line
        if debug:
            raise
        _print_error(f"internal error: {type(exc).__name__}: {exc}", "run with --debug for the traceback")
        code = ExitCode.FAILURE
    _flush_stdout()
    sys.exit(int(code))


def _treat_sigterm_as_interrupt() -> None:
    # A CI job that times out sends SIGTERM: leave the same way as on Ctrl-C, printing how to resume.
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _click_exceptions():  # noqa: ANN202
    try:
        from typer._click import exceptions  # typer >= 0.26 ships its own copy of click
    except ImportError:  # pragma: no cover - older typer on top of click
        from click import exceptions
    return exceptions


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _broken_pipe()
        sys.exit(0)


def _file_identity(target: int | str) -> tuple[int, int] | None:
    """(device, inode) of an open descriptor or a path."""
    try:
        st = os.stat(target)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _reader_left(stdout_before: tuple[int, int] | None) -> bool:
    """Did a library meet EPIPE on stdout and exit? Typer wraps the streams in click's
    ``PacifyFlushWrapper``; Rich points fd 1 at /dev/null."""
    if type(sys.stdout).__name__ == "PacifyFlushWrapper":
        return True
    now = _file_identity(1)
    return now is not None and now != stdout_before and now == _file_identity(os.devnull)


def _broken_pipe() -> int:
    # The reader went away (`stt … | head -1`): stop quietly. Point stdout at devnull so the
    # interpreter's final flush doesn't raise again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0
