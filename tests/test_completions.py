"""Completion scripts are generated from the app, and the completion protocol answers usefully."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_cli, stt_executable

ROOT = Path(__file__).resolve().parent.parent


def test_completion_files_match_the_generator():
    r = subprocess.run([sys.executable, str(ROOT / "completions" / "generate.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def complete(words: str) -> list[str]:
    env = {**os.environ, "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1),
           "_STT_COMPLETE": "complete_bash"}
    r = subprocess.run([stt_executable()], capture_output=True, text=True, env=env, timeout=30)
    return r.stdout.split()


def test_formats_providers_and_commands_complete():
    assert complete("stt transcribe -f ") == ["text", "json", "raw", "srt", "vtt", "all"]
    assert complete("stt --provider o") == ["openai"]
    assert set(complete("stt ")) >= {"transcribe", "submit", "status", "fetch", "convert", "config"}
    assert complete("stt config set ") == ["provider", "model", "base_url", "api_key", "language", "format"]
    assert complete("stt config get ba") == ["base_url"]


def test_models_from_the_config_complete():
    run_cli("config", "set", "model", "#g1_whisper-large")
    run_cli("config", "set", "--profile", "groq", "model", "whisper-large-v3")
    assert {"#g1_whisper-large", "whisper-large-v3"} <= set(complete("stt transcribe -m "))


def test_every_command_has_help_text():
    from stt_cli.cli import app

    for info in app.registered_commands:
        assert (info.callback.__doc__ or "").strip(), info.callback.__name__


def test_cli_import_does_not_import_requests():
    code = "import sys, stt_cli.cli; print('requests' in sys.modules, 'rich.progress' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.split() == ["False", "False"], r.stderr


def test_bash_inserts_model_names_it_reads_back_as_words():
    # "#g1_…" inserted as-is would start a comment: the rest of the command line would be dropped.
    run_cli("config", "set", "model", "#g1_whisper-large")
    script = f"""
source '{ROOT / "completions" / "stt.bash"}'
COMP_WORDS=(stt transcribe -m '#g1_w'); COMP_CWORD=3
_stt_completion stt
for word in "${{COMPREPLY[@]}}"; do eval "printf '[%s]\\n' $word done"; done
"""
    env = {**os.environ, "PATH": f"{Path(stt_executable()).parent}:{os.environ['PATH']}"}
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=30)
    assert r.stdout.split() == ["[#g1_whisper-large]", "[done]"], r.stdout + r.stderr


ZSH_FIRST_TAB = r"""
zmodload zsh/zpty
zpty z "env PATH=$BIN:\$PATH TERM=dumb zsh -f -i"
zpty -w z "fpath=($DIR \$fpath); autoload -U compinit; compinit -u; PS1='> '; print READY"
all=""
for i in {1..100}; do zpty -r -t z chunk && all+=$chunk; [[ $all == *READY*'> '* ]] && break; sleep 0.1; done
zpty -w -n z $'stt transcribe -f s\t'
all=""
for i in {1..50}; do zpty -r -t z chunk && all+=$chunk; [[ $all == *srt* ]] && break; sleep 0.1; done
print -r -- "$all"
zpty -d z
"""


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completes_on_the_first_tab_when_installed_on_fpath(tmp_path):
    # Installed as README says (a file _stt on $fpath), zsh autoloads the script as the completion
    # function: it must complete then, not only register itself for the next TAB.
    (tmp_path / "_stt").write_text((ROOT / "completions" / "stt.zsh").read_text())
    env = {**os.environ, "BIN": str(Path(stt_executable()).parent), "DIR": str(tmp_path), "HOME": str(tmp_path)}
    r = subprocess.run(["zsh", "-f", "-c", ZSH_FIRST_TAB], capture_output=True, text=True, env=env, timeout=60)
    assert "stt transcribe -f srt" in r.stdout, r.stdout[-500:]
