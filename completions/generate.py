"""Regenerate the shell completion scripts from the app: ``python completions/generate.py``.

The scripts are thin: at completion time they call ``stt`` back (``_STT_COMPLETE=complete_<shell>``), so
options, fixed choices (formats, providers) and model names from the config file always match the
installed version. ``tests/test_completions.py`` fails when these files drift from what this prints.
"""

from __future__ import annotations

import sys
from pathlib import Path

SHELLS = {"bash": "stt.bash", "zsh": "stt.zsh", "fish": "stt.fish"}
HERE = Path(__file__).resolve().parent


def script_for(shell: str) -> str:
    from typer._completion_shared import get_completion_script

    return get_completion_script(prog_name="stt", complete_var="_STT_COMPLETE", shell=shell).rstrip() + "\n"


def main() -> int:
    check = "--check" in sys.argv[1:]
    stale = []
    for shell, name in SHELLS.items():
        path = HERE / name
        fresh = script_for(shell)
        if check:
            if not path.exists() or path.read_text() != fresh:
                stale.append(name)
        else:
            path.write_text(fresh)
    if stale:
        print(f"stale completion scripts: {', '.join(stale)}; run: python completions/generate.py",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
