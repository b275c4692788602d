"""Settings resolution.

Precedence, highest first:

1. command-line flags (``--provider``, ``--base-url``, ``-m``, ``-l``, ``-f``);
2. the selected profile's table ``[profiles.NAME]`` (``--profile`` or ``STT_PROFILE``). Choosing a
   profile is explicit, so it outranks the environment;
3. environment: ``STT_PROVIDER``, ``STT_BASE_URL``, ``STT_MODEL``, ``STT_LANGUAGE``, ``STT_FORMAT``,
   ``STT_API_KEY``; then the provider's own variables (``AIMLAPI_KEY`` for aiml; ``OPENAI_API_KEY`` and
   ``OPENAI_BASE_URL`` for openai);
4. the config file's top-level keys;
5. built-in defaults (per provider).

The API key travels with its endpoint. A profile that sets ``base_url`` binds its key to that URL: when
the profile's URL is used, only the profile's key is sent (none if it has none), so a key exported for
another endpoint never reaches the profile's server; when a ``--base-url`` flag points elsewhere, the
profile's key stays behind and the usual chain (environment, then the file's top level) applies.

The config file is ``config.toml`` in ``$STT_CONFIG_DIR`` or ``platformdirs.user_config_dir("stt-cli")``.
It is written with mode 0600 because it may hold an API key.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from stt_cli.errors import ConfigError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

APP_NAME = "stt-cli"
PROVIDERS = ("aiml", "openai")
CONFIG_KEYS = ("provider", "model", "base_url", "api_key", "language", "format")

PROVIDER_DEFAULTS: dict[str, dict[str, str]] = {
    "aiml": {"base_url": "https://api.aimlapi.com/v1", "model": "#g1_nova-2-general"},
    "openai": {"base_url": "https://api.openai.com/v1", "model": "whisper-1"},
}
# Provider-specific environment variables, consulted after the STT_* ones.
PROVIDER_ENV: dict[str, dict[str, tuple[str, ...]]] = {
    "aiml": {"api_key": ("AIMLAPI_KEY",)},
    "openai": {"api_key": ("OPENAI_API_KEY",), "base_url": ("OPENAI_BASE_URL",)},
}


def config_dir() -> Path:
    override = os.environ.get("STT_CONFIG_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME))


def state_dir() -> Path:
    override = os.environ.get("STT_STATE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_state_dir(APP_NAME))


def config_path() -> Path:
    return config_dir() / "config.toml"


def load_file(path: Path | None = None) -> dict[str, Any]:
    path = path or config_path()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}",
                          hint=f"fix or remove it: {path}") from exc


def save_file(data: dict[str, Any], path: Path | None = None) -> None:
    """Write the config atomically with mode 0600 (it may hold a key)."""
    import tomli_w

    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            tomli_w.dump(data, fh)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def file_is_exposed(path: Path | None = None) -> bool:
    """True when the config file can be read by group or others."""
    path = path or config_path()
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IRWXG | stat.S_IRWXO))


@dataclass
class Settings:
    provider: str
    model: str
    base_url: str
    api_key: str | None
    language: str | None
    format: str | None
    profile: str | None

    def __repr__(self) -> str:  # never show the key, even in a debug dump
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        if shown["api_key"]:
            shown["api_key"] = "***"
        return f"Settings({shown})"


def profile_table(file_data: dict[str, Any], profile: str | None) -> dict[str, Any]:
    if not profile:
        return {}
    profiles = file_data.get("profiles") or {}
    if not isinstance(profiles, dict) or profile not in profiles:
        known = ", ".join(sorted(profiles)) if isinstance(profiles, dict) and profiles else "none"
        raise ConfigError(f"unknown profile {profile!r} (known: {known})",
                          hint=f"create it: stt config set --profile {profile} provider openai")
    table = profiles[profile]
    return table if isinstance(table, dict) else {}


def resolve(flags: dict[str, str | None], env: dict[str, str] | None = None,
            file_data: dict[str, Any] | None = None) -> Settings:
    """Merge flags, environment, config file and defaults into ``Settings``."""
    env = dict(os.environ) if env is None else env
    file_data = load_file() if file_data is None else file_data
    profile = flags.get("profile") or env.get("STT_PROFILE") or None
    table = profile_table(file_data, profile)
    top = {k: v for k, v in file_data.items() if k in CONFIG_KEYS}

    def from_file(source: dict[str, Any], key: str) -> str | None:
        value = source.get(key)
        return None if value in (None, "") else str(value)

    def pick(key: str, provider: str | None = None) -> str | None:
        if flags.get(key):
            return flags[key]
        if from_file(table, key) is not None:
            return from_file(table, key)
        if env.get(f"STT_{key.upper()}"):
            return env[f"STT_{key.upper()}"]
        for name in PROVIDER_ENV.get(provider or "", {}).get(key, ()):
            if env.get(name):
                return env[name]
        return from_file(top, key)

    provider = (pick("provider") or "aiml").lower()
    if provider not in PROVIDERS:
        raise UsageError(f"unknown provider {provider!r}", hint=f"choose one of: {', '.join(PROVIDERS)}")
    defaults = PROVIDER_DEFAULTS[provider]
    base_url = (pick("base_url", provider) or defaults["base_url"]).rstrip("/")
    check_base_url(base_url)
    if from_file(table, "base_url") is None:
        api_key = pick("api_key", provider)
    elif not flags.get("base_url"):
        api_key = from_file(table, "api_key")  # the profile's own server: its key or none
    else:
        table = {}  # a flag sent the profile elsewhere: its key stays with its own server
        api_key = pick("api_key", provider)
    return Settings(
        provider=provider,
        model=pick("model", provider) or defaults["model"],
        base_url=base_url,
        api_key=api_key,
        language=pick("language", provider),
        format=pick("format", provider),
        profile=profile,
    )


def check_base_url(url: str) -> None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)  # "http://[::1" raises here
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError(f"base URL {url!r} is not an http(s) URL",
                          hint="e.g. --base-url http://127.0.0.1:8000/v1 (check STT_BASE_URL and the config file)")
