"""Where rendered transcripts go, and writing them atomically.

Naming rules (documented in README):
- one input, one format, no ``-o``: stdout; ``-o -`` is always stdout;
- ``-o PATH``: that file; with several formats, ``<PATH minus extension>.<ext>`` beside it;
  with several inputs, ``-o`` must contain ``{stem}``;
- otherwise ``<stem>.<ext>`` in ``--output-dir``, or next to each local input (the current directory
  for URLs and stdin). Inputs from different folders keep their folder layout under ``--output-dir``
  (mirrored relative to the folder they share); two inputs that would still share a name (``a.wav`` and
  ``a.mp3``) keep their full file name (``a.wav.srt``, ``a.mp3.srt``).
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from stt_cli.errors import SttError, UsageError
from stt_cli.inputs import AudioSource

if TYPE_CHECKING:
    from stt_cli.transcript import Transcript
    from stt_cli.writers import RenderOptions

STDOUT = "-"
# Names for our own stdout: writing them is writing to stdout. Opening one as a file would truncate (or
# replace) whatever the shell redirected stdout to: `{ echo head; stt … -o /dev/stdout; } > out.txt`.
STDOUT_ALIASES = frozenset({"/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"})
# Other inherited descriptors: written through, appending, never truncated or renamed over.
_DESCRIPTOR_PREFIXES = ("/dev/fd/", "/proc/self/fd/", "/dev/stderr")


def check_output_options(output: str | None, output_dir: Path | None) -> None:
    if output and output_dir is not None:
        raise UsageError("use -o or --output-dir, not both",
                         hint="a folder in -o does the same: -o 'captions/{stem}.srt'")


def extension(fmt: str) -> str:
    from stt_cli.writers import EXTENSIONS

    return EXTENSIONS[fmt]


def _base_dir(source_name: str, is_local: bool, output_dir: Path | None, common: Path | None) -> Path:
    if output_dir is None:
        return Path(source_name).parent if is_local else Path(".")
    if is_local and common is not None:
        return output_dir / Path(os.path.abspath(source_name)).parent.relative_to(common)
    return output_dir


def _first_stem(name: str, is_local: bool) -> str:
    if name == "-":
        return "stdin"
    if is_local:
        return Path(name).stem
    return AudioSource(kind="url", name=name, url=name).stem


def plan_stems(names: list[str], output_dir: Path | None) -> dict[str, Path]:
    """Map every input name to its output path without extension; no two inputs share one."""
    from stt_cli.inputs import is_url

    local = {n for n in names if n != "-" and not is_url(n)}
    common = None
    if local and output_dir is not None:
        common = Path(os.path.commonpath([os.path.abspath(Path(n).parent) for n in local]))
    plan = {name: _base_dir(name, name in local, output_dir, common) / _first_stem(name, name in local)
            for name in names}
    # Widen clashing names step by step: first the whole file name (a.wav / a.mp3), then a hash of the
    # input (which is unique), until no two inputs share a destination.
    while True:
        groups: dict[str, list[str]] = {}
        for name, path in plan.items():
            groups.setdefault(os.path.abspath(path), []).append(name)
        clashes = [group for group in groups.values() if len(group) > 1]
        if not clashes:
            return plan
        for group in clashes:
            for name in group:
                path = plan[name]
                full = Path(name).name if name in local else None
                if full and path.name != full:
                    plan[name] = path.with_name(full)
                else:
                    digest = hashlib.sha256(os.path.abspath(name).encode()).hexdigest()[:8]
                    plan[name] = path.with_name(f"{path.name}-{digest}")


def strip_output_extension(path: Path) -> Path:
    # Only a known output extension is a suffix to replace: "my.talk" keeps its ".talk".
    from stt_cli.writers import EXTENSIONS

    for ext in sorted(set(EXTENSIONS.values()), key=len, reverse=True):
        if path.name.endswith(f".{ext}") and len(path.name) > len(ext) + 1:
            return path.with_name(path.name[: -len(ext) - 1])
    return path


def output_paths(*, stem_path: Path, stem: str, formats: list[str], output: str | None,
                 several_inputs: bool, single_to_stdout: bool) -> dict[str, str]:
    """Format → destination path (or ``-``) for one input."""
    if output in STDOUT_ALIASES:
        output = STDOUT
    if output == STDOUT:
        # Two documents on one stream (an SRT then a VTT, or one input's captions after another's, in
        # whatever order they finish) are something no reader can take apart.
        if several_inputs or len(formats) > 1:
            raise UsageError("-o - takes one input and one format",
                             hint="write files with --output-dir, or use --json for one line per input")
        return {fmt: STDOUT for fmt in formats}
    if output:
        target = output.replace("{stem}", stem) if "{stem}" in output else output
        if several_inputs and "{stem}" not in output:
            raise UsageError("-o with several inputs must contain {stem}",
                             hint="e.g. -o 'captions/{stem}.srt', or use --output-dir")
        if len(formats) == 1:
            return {formats[0]: target}
        base = strip_output_extension(Path(target))
        return {fmt: f"{base}.{extension(fmt)}" for fmt in formats}
    if single_to_stdout and len(formats) == 1:
        return {formats[0]: STDOUT}
    return {fmt: f"{stem_path}.{extension(fmt)}" for fmt in formats}


def plan_outputs(names: list[str], formats: list[str], *, output: str | None, output_dir: Path | None,
                 single_to_stdout: bool) -> dict[str, dict[str, str]]:
    """Input → (format → destination) for a whole run, refusing any two writes to one file."""
    check_output_options(output, output_dir)
    stems = plan_stems(names, output_dir)
    plans = {name: output_paths(stem_path=stems[name], stem=stems[name].name, formats=formats, output=output,
                                several_inputs=len(names) > 1, single_to_stdout=single_to_stdout)
             for name in names}
    local = [n for n in names if n != STDOUT and "://" not in n]
    for plan in plans.values():
        refuse_overwriting_inputs(plan, local)
    seen: dict[str, str] = {}
    for name, plan in plans.items():
        for path in plan.values():
            if path == STDOUT:
                continue
            other = seen.setdefault(os.path.abspath(path), name)
            if other != name:
                raise UsageError(f"{other} and {name} would both be written to {path}",
                                 hint="use --output-dir (it keeps folders apart) or a -o template with "
                                 "distinct names")
    return plans


def refuse_overwriting_inputs(plan: dict[str, str], inputs: Iterable[str]) -> None:
    """Refuse, before anything is submitted or written, a destination that is one of the inputs.

    ``samefile`` rather than comparing names: a symlink, hard link or ``./`` spelling is the same audio.
    """
    for path in plan.values():
        if path == STDOUT or not os.path.exists(path):
            continue
        for name in inputs:
            if os.path.exists(name) and os.path.samefile(path, name):
                raise UsageError(f"refusing to overwrite the input {name} with {path}",
                                 hint="choose another -o or --output-dir")


def write_outputs(transcript: Transcript, plan: dict[str, str], options: RenderOptions,
                  emit: Callable[[str], None]) -> list[str]:
    """Render every format, then write them all; return the files written.

    Rendering comes first so that a format that cannot be produced (captions without timestamps)
    leaves no file behind.
    """
    from stt_cli.writers import render

    rendered = [(path, render(transcript, fmt, options)) for fmt, path in plan.items()]
    written = []
    for path, text in rendered:
        if path == STDOUT:
            emit(text)
        else:
            write_file(path, text)
            written.append(path)
    return written


def write_file(path: str, text: str) -> None:
    """Write one output: atomically for a regular file, straight through for anything else.

    A device, FIFO or process substitution (``-o /dev/stdout``, ``-o >(gzip > x.gz)``) has nothing to
    swap and must not be replaced by a file; a symlink stays a link and its target gets the new text.
    """
    try:
        mode = os.stat(path).st_mode  # follows symlinks
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise SttError(f"cannot write {path}: {exc.strerror}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise UsageError(f"cannot write {path}: it is a directory", hint="use --output-dir for a folder")
    if mode is not None and (not stat.S_ISREG(mode) or path.startswith(_DESCRIPTOR_PREFIXES)):
        try:
            # Append: an inherited descriptor may already hold what others wrote (`2>>log`).
            with open(path, "a", encoding="utf-8", newline="") as fh:
                fh.write(text)
        except OSError as exc:
            raise SttError(f"cannot write {path}: {exc.strerror}") from None
        return
    write_atomic(os.path.realpath(path), text, shown=path)


def write_atomic(path: str, text: str, *, shown: str | None = None) -> None:
    """Write via a temporary file in the same folder and a rename: readers see old or new, never half."""
    shown = shown or path
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise SttError(f"cannot write {shown}: {exc.strerror}",
                       hint="choose a writable folder with -o or --output-dir") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise SttError(f"cannot write {shown}: {exc.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once at import: os.umask() is process-wide and would race with writer threads.
_UMASK = _read_umask()
