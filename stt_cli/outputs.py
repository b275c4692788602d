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
import tempfile
from pathlib import Path

from stt_cli.errors import SttError, UsageError
from stt_cli.inputs import AudioSource

STDOUT = "-"


def extension(fmt: str) -> str:
    from stt_cli.writers import EXTENSIONS

    return EXTENSIONS[fmt]


def _base_dir(source_name: str, is_local: bool, output_dir: Path | None, common: Path | None) -> Path:
    if output_dir is None:
        return Path(source_name).parent if is_local else Path(".")
    if is_local and common is not None:
        return output_dir / Path(os.path.abspath(source_name)).parent.relative_to(common)
    return output_dir


def plan_stems(names: list[str], output_dir: Path | None) -> dict[str, Path]:
    """Map every input name to its output path without extension; no two inputs share one."""
    from stt_cli.inputs import is_url

    local = [n for n in names if n != "-" and not is_url(n)]
    common = None
    if local and output_dir is not None:
        common = Path(os.path.commonpath([os.path.abspath(Path(n).parent) for n in local]))
    plan: dict[str, Path] = {}
    for name in names:
        is_local = name in local
        if name == "-":
            stem = "stdin"
        elif is_local:
            stem = Path(name).stem
        else:
            stem = AudioSource(kind="url", name=name, url=name).stem
        plan[name] = _base_dir(name, is_local, output_dir, common) / stem
    counts: dict[Path, int] = {}
    for path in plan.values():
        counts[path] = counts.get(path, 0) + 1
    for name, path in plan.items():
        if counts[path] > 1:
            if name in local:
                plan[name] = path.with_name(Path(name).name)
            else:
                plan[name] = path.with_name(f"{path.name}-{hashlib.sha256(name.encode()).hexdigest()[:8]}")
    return plan


def output_paths(*, stem_path: Path, stem: str, formats: list[str], output: str | None,
                 several_inputs: bool, single_to_stdout: bool) -> dict[str, str]:
    """Format → destination path (or ``-``) for one input."""
    if output == STDOUT:
        return {fmt: STDOUT for fmt in formats}
    if output:
        target = output.replace("{stem}", stem) if "{stem}" in output else output
        if several_inputs and "{stem}" not in output:
            raise UsageError("-o with several inputs must contain {stem}",
                             hint="e.g. -o 'captions/{stem}.srt', or use --output-dir")
        if len(formats) == 1:
            return {formats[0]: target}
        base = Path(target)
        base = base.with_suffix("") if base.suffix else base
        return {fmt: f"{base}.{extension(fmt)}" for fmt in formats}
    if single_to_stdout and len(formats) == 1:
        return {formats[0]: STDOUT}
    return {fmt: f"{stem_path}.{extension(fmt)}" for fmt in formats}


def write_atomic(path: str, text: str) -> None:
    """Write via a temporary file in the same folder and a rename: readers see old or new, never half."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise SttError(f"cannot write {path}: {exc.strerror}",
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
        raise SttError(f"cannot write {path}: {exc.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once at import: os.umask() is process-wide and would race with writer threads.
_UMASK = _read_umask()
