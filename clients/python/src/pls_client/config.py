"""Where ``pls`` finds the console and its token: the environment first, then a TOML file
(``$PLS_CONFIG``, else ``$XDG_CONFIG_HOME/pls/config.toml``, else ``~/.config/pls/config.toml``).

Settings, as environment variable / file key:

- ``PLS_URL`` / ``url``: the console, e.g. ``http://127.0.0.1:8000``
- ``PLS_TOKEN`` / ``token``: the worker's API token
- ``PLS_TIMEOUT_SECONDS`` / ``timeout_seconds`` (10): one request's timeout
- ``PLS_RETRY_ATTEMPTS`` / ``retry_attempts`` (3), ``PLS_RETRY_SECONDS`` / ``retry_seconds``
  (20): how often and how long a request is retried on no answer, 429, 502, 503, 504
- ``PLS_APPROVAL_WAIT_SECONDS`` / ``approval_wait_seconds`` (30): how long a hook waits for a
  reviewer to decide a call that needs approval
- ``PLS_FAIL_OPEN_TOOLS`` / ``fail_open_tools``: tools a hook lets through while the console
  cannot be reached (comma-separated; empty = none). Default: the agent's read-only tools.
"""

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pls_client.errors import ConfigError
from pls_client.i18n import _

# Tools that only read: while the console is unreachable, blocking them would stop an agent
# from even looking at its work, and letting them run changes nothing.
READ_ONLY_TOOLS: Mapping[str, tuple[str, ...]] = {
    "claude_code": ("Read", "Glob", "Grep"),
    "codex": ("read_file", "list_dir", "grep_files", "view_image"),
}

_FIELDS = {
    # file key: (environment variable, converter)
    "url": ("PLS_URL", str),
    "token": ("PLS_TOKEN", str),
    "timeout_seconds": ("PLS_TIMEOUT_SECONDS", float),
    "retry_attempts": ("PLS_RETRY_ATTEMPTS", int),
    "retry_seconds": ("PLS_RETRY_SECONDS", float),
    "approval_wait_seconds": ("PLS_APPROVAL_WAIT_SECONDS", float),
    "fail_open_tools": ("PLS_FAIL_OPEN_TOOLS", str),
}


@dataclass(frozen=True)
class Config:
    url: str = ""
    token: str = ""
    timeout_seconds: float = 10.0
    retry_attempts: int = 3
    retry_seconds: float = 20.0
    approval_wait_seconds: float = 30.0
    # None: the agent's read-only tools (READ_ONLY_TOOLS).
    fail_open_tools: tuple[str, ...] | None = None
    source: str = ""

    def fail_open_for(self, agent: str) -> frozenset[str]:
        if self.fail_open_tools is None:
            return frozenset(READ_ONLY_TOOLS.get(agent, ()))
        return frozenset(self.fail_open_tools)

    def require_server(self) -> "Config":
        """Itself, if it names a console and a token; the commands that talk to the console
        call this, so ``pls hook install`` works before anything is configured."""
        if not self.url:
            raise ConfigError(
                _("No console URL: set PLS_URL or `url` in {path}.").format(path=config_path())
            )
        if not self.token:
            raise ConfigError(
                _("No worker token: set PLS_TOKEN or `token` in {path}.").format(path=config_path())
            )
        return self


def config_path(environ: Mapping[str, str] = os.environ) -> Path:
    if environ.get("PLS_CONFIG"):
        return Path(environ["PLS_CONFIG"]).expanduser()
    base = environ.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(base) / "pls" / "config.toml"


def state_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the hooks keep what one hook process tells the next (``$XDG_CACHE_HOME/pls``)."""
    base = environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(base) / "pls"


def load(environ: Mapping[str, str] = os.environ, *, url: str | None = None) -> Config:
    """The configuration: ``url`` (the ``--url`` option) over the environment over the file."""
    path = config_path(environ)
    values: dict[str, Any] = {}
    if path.is_file():
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(
                _("Cannot read {path}: {error}").format(path=path, error=error)
            ) from error
        unknown = sorted(set(document) - set(_FIELDS))
        if unknown:
            raise ConfigError(
                _("{path}: unknown setting(s) {names}; known: {known}.").format(
                    path=path, names=", ".join(unknown), known=", ".join(_FIELDS)
                )
            )
        values.update(document)
    for key, (variable, _convert) in _FIELDS.items():
        if variable in environ:
            values[key] = environ[variable]
    if url:
        values["url"] = url
    return Config(**_converted(values, path), source=str(path))


def _converted(values: dict[str, Any], path: Path) -> dict[str, Any]:
    converted: dict[str, Any] = {}
    for key, raw in values.items():
        variable, convert = _FIELDS[key]
        if key == "fail_open_tools":
            converted[key] = _tool_names(raw)
            continue
        try:
            value = convert(raw)
        except (TypeError, ValueError) as error:
            raise ConfigError(
                _("{variable} (or `{key}` in {path}) is not a valid {kind}: {raw!r}").format(
                    variable=variable, key=key, path=path, kind=convert.__name__, raw=raw
                )
            ) from error
        if isinstance(value, int | float) and value < 0:
            raise ConfigError(_("{variable} may not be negative.").format(variable=variable))
        converted[key] = value
    if converted.get("url"):
        converted["url"] = _checked_url(converted["url"])
    return converted


def _tool_names(raw: object) -> tuple[str, ...]:
    items = raw.split(",") if isinstance(raw, str) else list(raw)  # type: ignore[call-overload]
    return tuple(str(item).strip() for item in items if str(item).strip())


def _checked_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            _("PLS_URL must be an http(s) URL such as http://127.0.0.1:8000, not {url!r}.").format(
                url=url
            )
        )
    return url.strip().rstrip("/")
