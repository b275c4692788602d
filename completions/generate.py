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


# bash inserts completions verbatim, and a word that starts with "#" is a comment there: the AIML model
# names ("#g1_nova-2-general") would drop the rest of the command line. Escape that "#" as bash reads
# the list (the completion protocol itself must keep it: Typer filters by the typed prefix).
BASH_ESCAPE = '    COMPREPLY=( "${COMPREPLY[@]/#\\#/\\\\#}" )\n'


# Installed as _stt on $fpath, zsh autoloads the file as the completion function itself: it must complete
# at once, not only register itself (which left the first TAB of every shell doing nothing). Sourced, it
# registers. This is click's own template's answer.
ZSH_REGISTER = "compdef _stt_completion stt\n"
ZSH_AUTOLOAD = """if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _stt_completion "$@"
else
  compdef _stt_completion stt
fi
"""


def script_for(shell: str) -> str:
    from typer._completion_shared import get_completion_script

    script = get_completion_script(prog_name="stt", complete_var="_STT_COMPLETE", shell=shell).rstrip() + "\n"
    if shell == "bash":
        head, sep, tail = script.partition("    return 0\n")
        if not sep:
            raise SystemExit("the bash completion template changed: place BASH_ESCAPE by hand")
        script = head + BASH_ESCAPE + sep + tail
    if shell == "zsh":
        if ZSH_REGISTER not in script:
            raise SystemExit("the zsh completion template changed: place ZSH_AUTOLOAD by hand")
        script = script.replace(ZSH_REGISTER, ZSH_AUTOLOAD)
    return script


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
