"""`stt config` and settings precedence: flag > environment > config file > default."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.helpers import run_cli
from tests.servers import API_KEY

FAST = ("--poll-interval", "0.05", "--force")


def config_file() -> Path:
    return Path(os.environ["STT_CONFIG_DIR"]) / "config.toml"


def test_path_set_get_list_unset():
    assert run_cli("config", "path").stdout.strip() == str(config_file())
    assert run_cli("config", "set", "model", "#g1_whisper-large").exit_code == 0
    assert stat.S_IMODE(config_file().stat().st_mode) == 0o600
    assert run_cli("config", "get", "model").stdout == "#g1_whisper-large\n"
    assert run_cli("config", "list").stdout == "model = #g1_whisper-large\n"
    assert run_cli("config", "unset", "model").exit_code == 0
    r = run_cli("config", "get", "model")
    assert (r.exit_code, r.stdout) == (1, "")


def test_api_key_is_read_from_stdin_and_never_shown():
    r = run_cli("config", "set", "api_key", stdin=b"sk-secret-value-123\n")
    assert r.exit_code == 0, r.stderr
    assert 'api_key = "sk-secret-value-123"' in config_file().read_text()
    assert run_cli("config", "get", "api_key").stdout == "***\n"
    assert "sk-secret" not in run_cli("config", "list").stdout


def test_api_key_on_the_command_line_is_refused():
    r = run_cli("config", "set", "api_key", "sk-on-argv")
    assert r.exit_code == 2
    assert "not taken as an argument" in r.stderr
    assert not config_file().exists()


def test_unknown_key_and_bad_values():
    assert run_cli("config", "set", "colour", "blue").exit_code == 2
    assert run_cli("config", "set", "provider", "nope").exit_code == 2
    assert run_cli("config", "set", "format", "docx").exit_code == 2


def test_invalid_toml_is_a_config_error(wav):
    config_file().parent.mkdir(parents=True)
    config_file().write_text("model = [unclosed\n")
    r = run_cli("transcribe", wav)
    assert r.exit_code == 3
    assert "is not valid TOML" in r.stderr


def test_precedence_flag_env_file_default(aiml, wav, monkeypatch):
    def sent_model(*args: str) -> str:
        r = run_cli("transcribe", wav, *FAST, *args)
        assert r.exit_code == 0, r.stderr
        return aiml.requests("POST", "/v1/stt/create")[-1].fields["model"]

    assert sent_model() == "#g1_nova-2-general"
    run_cli("config", "set", "model", "from-file")
    assert sent_model() == "from-file"
    monkeypatch.setenv("STT_MODEL", "from-env")
    assert sent_model() == "from-env"
    assert sent_model("-m", "from-flag") == "from-flag"


def test_key_sources_in_order(aiml, wav, monkeypatch):
    monkeypatch.delenv("STT_API_KEY")
    run_cli("config", "set", "api_key", stdin=b"wrong-from-file\n")
    assert run_cli("transcribe", wav, *FAST).exit_code == 3
    monkeypatch.setenv("AIMLAPI_KEY", API_KEY)
    assert run_cli("transcribe", wav, *FAST).exit_code == 0
    monkeypatch.setenv("STT_API_KEY", "wrong-from-env")
    assert run_cli("transcribe", wav, *FAST).exit_code == 3


def test_key_from_config_file(aiml, wav, monkeypatch):
    monkeypatch.delenv("STT_API_KEY")
    run_cli("config", "set", "api_key", stdin=API_KEY.encode())
    r = run_cli("transcribe", wav, *FAST)
    assert r.exit_code == 0, r.stderr


def test_world_readable_config_warns(aiml, wav):
    run_cli("config", "set", "language", "en")
    config_file().chmod(0o644)
    r = run_cli("transcribe", wav, *FAST)
    assert r.exit_code == 0
    assert "is readable by other users" in r.stderr


def test_plain_http_to_remote_host_warns(wav, monkeypatch):
    monkeypatch.setenv("STT_API_KEY", API_KEY)
    monkeypatch.setenv("STT_BASE_URL", "http://no-such-host.invalid/v1")
    r = run_cli("transcribe", wav, "--retries", "0")
    assert "sending the API key over plain http to no-such-host.invalid" in r.stderr
    assert API_KEY not in r.stderr


def test_unknown_provider_is_usage_error(wav):
    r = run_cli("transcribe", wav, "--provider", "nope")
    assert r.exit_code == 2
    assert "unknown provider 'nope'" in r.stderr


def test_base_url_without_scheme_is_a_config_error(wav, monkeypatch):
    monkeypatch.setenv("STT_API_KEY", API_KEY)
    r = run_cli("--base-url", "127.0.0.1:8000/v1", "transcribe", wav)
    assert r.exit_code == 3
    assert r.stderr.splitlines()[0] == "stt: error: base URL '127.0.0.1:8000/v1' is not an http(s) URL"
