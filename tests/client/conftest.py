"""The worker client as its users run it: ``pls`` (the console script ``make install`` puts in
the virtualenv) as a real subprocess, against a live server of this project (pytest-django's
``live_server``), or against a local HTTP server where the point is the wire."""

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PLS = Path(sys.executable).with_name("pls")
FIXTURES = Path(__file__).parent / "fixtures"
FAKE_TOKEN = "pls_test_token"  # what a stand-in console (pytest-httpserver) is sent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PLS.exists():
        return
    skip = pytest.mark.skip(
        reason=f"{PLS} is missing: run `make install` (it installs clients/python)"
    )
    for item in items:
        if "tests/client" in str(item.fspath):
            item.add_marker(skip)


def sample(agent: str, name: str, **changes: Any) -> dict[str, Any]:
    """A documented sample hook input (tests/client/fixtures), with ``changes`` applied."""
    event = json.loads((FIXTURES / agent / f"{name}.json").read_text())
    event.update(changes)
    return event


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: the console is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


class Pls:
    """Runs ``pls`` with an environment of its own: the console's URL and a worker token,
    short retries, and a private HOME so no real configuration or state is read."""

    def __init__(self, home: Path, **env: str) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PLS_", "XDG_"))}
        self.env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / "config"),
            XDG_CACHE_HOME=str(home / "cache"),
            PLS_RETRY_ATTEMPTS="2",
            PLS_RETRY_SECONDS="5",
            PLS_TIMEOUT_SECONDS="10",
            PLS_APPROVAL_WAIT_SECONDS="0",
        )
        self.env.update(env)

    def with_env(self, **env: str) -> "Pls":
        other = Pls.__new__(Pls)
        other.env = {**self.env, **env}
        return other

    def popen(self, *args: str, stdin: str | None = None) -> subprocess.Popen:
        process = subprocess.Popen(
            [str(PLS), *args],
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        return process

    def __call__(self, *args: str, stdin: str | bytes | None = None, timeout: float = 60) -> Run:
        result = subprocess.run(
            [str(PLS), *args],
            env=self.env,
            input=stdin.encode() if isinstance(stdin, str) else stdin,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        return Run(result.returncode, result.stdout.decode(), result.stderr.decode())

    def hook(self, agent: str, event: dict[str, Any] | str | bytes, timeout: float = 60) -> Run:
        payload = event if isinstance(event, str | bytes) else json.dumps(event)
        return self("hook", agent, stdin=payload, timeout=timeout)


@pytest.fixture
def pls_for(tmp_path: Path) -> Callable[..., Pls]:
    """``pls_for(url=..., token=...)``: a ``Pls`` for that console."""

    def make(*, url: str, token: str | None = None, **env: str) -> Pls:
        return Pls(tmp_path, PLS_URL=url, PLS_TOKEN=token or FAKE_TOKEN, **env)

    return make


@pytest.fixture
def pls(pls_for, live_server, worker_token) -> Pls:
    """``pls`` as the ``worker`` fixture, against the live server."""
    return pls_for(url=live_server.url, token=worker_token)
