"""Config profiles end to end: several OpenAI-compatible endpoints, each with its own URL, model and key.

Precedence, highest first: flag > the selected profile > environment > top-level config > default; a
profile with its own base URL binds its key to it (see ``stt_cli.config``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from stt_cli import config
from tests.helpers import run_cli
from tests.openai_server import TALK, FakeOpenAI

GROQ_KEY, LOCAL_KEY = "gsk-groq-0123456789", "local-key-0123456789"
GROQ_MODEL, LOCAL_MODEL = "whisper-large-v3-turbo", "Systran/faster-whisper-small"


@pytest.fixture
def groq() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI(api_key=GROQ_KEY, models={GROQ_MODEL}).start()
    yield server
    server.stop()


@pytest.fixture
def local() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI(api_key=LOCAL_KEY, models={LOCAL_MODEL}).start()
    yield server
    server.stop()


@pytest.fixture
def open_server() -> Iterator[FakeOpenAI]:
    """A server that needs no key and takes any model: it shows what the client chose."""
    server = FakeOpenAI(api_key=None).start()
    yield server
    server.stop()


def set_config(profile: str | None, **values: str) -> None:
    """Write settings through ``stt config set``, as a user would (the key on stdin)."""
    where = ["--profile", profile] if profile else []
    for key, value in values.items():
        if key == "api_key":
            r = run_cli("config", "set", *where, "api_key", stdin=f"{value}\n".encode())
        else:
            r = run_cli("config", "set", *where, key, value)
        assert r.exit_code == 0, r.stderr


def two_profiles(groq: FakeOpenAI, local: FakeOpenAI) -> None:
    set_config("groq", provider="openai", base_url=groq.base_url, model=GROQ_MODEL, api_key=GROQ_KEY)
    set_config("local", provider="openai", base_url=local.base_url, model=LOCAL_MODEL, api_key=LOCAL_KEY)


def last(server: FakeOpenAI) -> tuple[str, str | None]:
    req = server.transcriptions()[-1]
    return req.fields["model"], req.headers.get("authorization")


def test_each_profile_reaches_its_own_server(groq, local, wav):
    two_profiles(groq, local)
    r = run_cli("--profile", "groq", "transcribe", wav)
    assert (r.exit_code, r.stdout) == (0, TALK + "\n"), r.stderr
    assert last(groq) == (GROQ_MODEL, f"Bearer {GROQ_KEY}")
    assert local.log == []

    r = run_cli("transcribe", wav, "--profile", "local", "-f", "srt")
    assert r.exit_code == 0, r.stderr
    assert last(local) == (LOCAL_MODEL, f"Bearer {LOCAL_KEY}")
    assert len(groq.log) == 1


def test_stt_profile_env_and_the_flag_beats_it(groq, local, wav, monkeypatch):
    two_profiles(groq, local)
    monkeypatch.setenv("STT_PROFILE", "local")
    assert run_cli("transcribe", wav).exit_code == 0
    assert len(local.transcriptions()) == 1 and groq.log == []
    r = run_cli("transcribe", wav, "--profile", "groq")
    assert r.exit_code == 0, r.stderr
    assert len(groq.transcriptions()) == 1


def test_jobs_remember_their_endpoint(groq, local, wav):
    two_profiles(groq, local)
    job_id = run_cli("--profile", "groq", "submit", wav).stdout.strip()
    assert job_id.startswith("local-")
    # No profile, no key: status and fetch are served from the ledger entry of the groq job.
    assert run_cli("status", job_id).stdout == f"{job_id}\tcompleted\n"
    r = run_cli("fetch", job_id, "-f", "json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["provider"], data["model"], data["text"]) == ("openai", GROQ_MODEL, TALK)
    r = run_cli("status", "--json")
    assert json.loads(r.stdout)["provider"] == "openai"
    assert len(groq.log) == 1 and local.log == []


def test_model_precedence(open_server, wav, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", open_server.base_url)

    def model_sent(*args: str) -> str:
        r = run_cli("--profile", "p", "transcribe", wav, "--force", *args)
        assert r.exit_code == 0, r.stderr
        return last(open_server)[0]

    set_config("p", provider="openai")
    assert model_sent() == "whisper-1"  # the openai default
    set_config(None, model="top-model")
    assert model_sent() == "top-model"
    monkeypatch.setenv("STT_MODEL", "env-model")
    assert model_sent() == "env-model"  # the environment beats the top level
    set_config("p", model="profile-model")
    assert model_sent() == "profile-model"  # a selected profile beats the environment
    assert model_sent("-m", "flag-model") == "flag-model"


def test_base_url_precedence(groq, local, wav, monkeypatch):
    # Both servers share the key here so that only the base URL decides where the request lands.
    groq.api_key = local.api_key = None
    groq.models = local.models = None

    def reached(*args: str) -> str:
        before = len(groq.log), len(local.log)
        r = run_cli("--profile", "p", "transcribe", wav, "--force", *args)
        assert r.exit_code == 0, r.stderr
        return "groq" if len(groq.log) > before[0] else "local" if len(local.log) > before[1] else "none"

    set_config(None, base_url=groq.base_url)
    set_config("p", provider="openai")
    assert reached() == "groq"  # top-level
    monkeypatch.setenv("OPENAI_BASE_URL", local.base_url)
    assert reached() == "local"  # the provider's own variable beats the top level
    monkeypatch.setenv("STT_BASE_URL", groq.base_url)
    assert reached() == "groq"  # STT_* beats the provider's variable
    set_config("p", base_url=local.base_url)
    assert reached() == "local"  # a selected profile beats the environment
    assert reached("--base-url", groq.base_url) == "groq"


def test_api_key_precedence(local, wav, monkeypatch):
    local.models = None

    def outcome() -> int:
        return run_cli("--provider", "openai", "--base-url", local.base_url, "transcribe", wav, "--force").exit_code

    set_config(None, api_key="top-level-wrong")
    assert outcome() == 3  # the top-level key is used, and refused
    monkeypatch.setenv("OPENAI_API_KEY", "env-wrong")
    assert outcome() == 3  # the provider's variable beats the top level
    monkeypatch.setenv("STT_API_KEY", LOCAL_KEY)
    assert outcome() == 0  # STT_API_KEY beats the provider's variable
    sent = {req.headers.get("authorization") for req in local.transcriptions()}
    assert sent == {"Bearer top-level-wrong", f"Bearer {LOCAL_KEY}", "Bearer env-wrong"}


def test_a_profiles_key_travels_only_with_its_base_url(local, open_server, wav, monkeypatch):
    local.models = None
    set_config(None, api_key="top-level-key-0123")
    set_config("p", provider="openai", base_url=local.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "openai-env-key-0123")
    monkeypatch.setenv("STT_API_KEY", "stt-env-key-0123")
    # The profile names its server but holds no key: no key meant for another endpoint goes there.
    assert run_cli("--profile", "p", "transcribe", wav).exit_code == 3
    set_config("p", api_key=LOCAL_KEY)
    assert run_cli("--profile", "p", "transcribe", wav).exit_code == 0
    assert [req.headers.get("authorization") for req in local.transcriptions()] == [None, f"Bearer {LOCAL_KEY}"]
    # A flag that points the profile at another server leaves the profile's key behind.
    r = run_cli("--profile", "p", "transcribe", wav, "--force", "--base-url", open_server.base_url)
    assert r.exit_code == 0, r.stderr
    assert [req.headers.get("authorization") for req in open_server.transcriptions()] == ["Bearer stt-env-key-0123"]
    # So does switching its provider with another base URL.
    r = run_cli("--profile", "p", "--provider", "aiml", "--base-url", open_server.base_url, "transcribe", wav)
    assert LOCAL_KEY not in json.dumps([req.headers for req in open_server.log])


def test_provider_precedence(open_server, wav, monkeypatch):
    set_config(None, provider="aiml")
    set_config("p", provider="openai", base_url=open_server.base_url)
    assert run_cli("--profile", "p", "transcribe", wav).exit_code == 0
    monkeypatch.setenv("STT_PROVIDER", "aiml")
    r = run_cli("--profile", "p", "transcribe", wav, "--force")
    assert r.exit_code == 0, r.stderr  # the selected profile beats the environment
    r = run_cli("transcribe", wav, "--force", "--base-url", open_server.base_url)
    assert r.exit_code == 3 and "no API key for the aiml provider" in r.stderr  # env beats the top level
    r = run_cli("--profile", "p", "transcribe", wav, "--force", "--provider", "openai")
    assert r.exit_code == 0, r.stderr
    assert len(open_server.transcriptions()) == 3


def test_unknown_profile_is_a_config_error(groq, local, wav):
    two_profiles(groq, local)
    r = run_cli("--profile", "nope", "transcribe", wav)
    assert r.exit_code == 3
    assert r.stderr.splitlines()[0] == "stt: error: unknown profile 'nope' (known: groq, local)"
    assert groq.log == [] and local.log == []


def test_config_list_shows_profiles_without_keys(groq, local):
    two_profiles(groq, local)
    r = run_cli("config", "list")
    assert r.exit_code == 0
    assert f"profiles.groq.base_url = {groq.base_url}" in r.stdout
    assert "profiles.local.api_key = ***" in r.stdout
    assert GROQ_KEY not in r.stdout and LOCAL_KEY not in r.stdout
    assert run_cli("config", "get", "--profile", "local", "model").stdout == f"{LOCAL_MODEL}\n"
    text = (Path(os.environ["STT_CONFIG_DIR"]) / "config.toml").read_text()
    assert "[profiles.groq]" in text and "[profiles.local]" in text


def test_openai_defaults():
    settings = config.resolve({"provider": "openai"}, env={}, file_data={})
    assert (settings.base_url, settings.model, settings.api_key) == ("https://api.openai.com/v1", "whisper-1", None)
    settings = config.resolve({}, env={"STT_PROVIDER": "openai", "OPENAI_API_KEY": "sk-x",
                                       "OPENAI_BASE_URL": "http://127.0.0.1:9/v1/"}, file_data={})
    assert (settings.provider, settings.base_url, settings.api_key) == ("openai", "http://127.0.0.1:9/v1", "sk-x")
    # AIML's variable is not an OpenAI key.
    assert config.resolve({"provider": "openai"}, env={"AIMLAPI_KEY": "aiml"}, file_data={}).api_key is None


def test_a_keyless_profile_is_told_to_set_its_own_key(wav, monkeypatch):
    set_config("p", provider="aiml", base_url="http://127.0.0.1:9/v1")
    monkeypatch.setenv("STT_API_KEY", "exported-for-elsewhere")  # deliberately not used for the profile
    r = run_cli("--profile", "p", "transcribe", wav)
    assert r.exit_code == 3
    assert "stt: hint: run: stt config set --profile p api_key" in r.stderr
