"""Real processes for tests that need the whole path: a throwaway redis-server, a Celery
worker (with beat), gunicorn, and a private PostgreSQL cluster, each on a free port.

Everything started here runs in its own session (process group), so ``stop`` ends the
process and every child it forked, and nothing outlives the test: callers stop them in a
fixture's teardown, which runs on failure too. Each wait is bounded; a timeout raises with
what was awaited and the tail of the process's log.
"""

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import requests
from django.conf import settings
from django.db import connection

from config.celery import app
from core import broker

REDIS_SERVER = shutil.which("redis-server") or ""
POSTGRES_BIN = next(
    (
        Path(folder)
        for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
        if (Path(folder) / "initdb").exists()
    ),
    None,
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


def wait_until(
    predicate: Callable[[], object], seconds: float, what: str, *, log: Path | None = None
) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            tail = f"\n--- last lines of {log} ---\n{log_tail(log)}" if log else ""
            raise AssertionError(f"timed out after {seconds} s waiting for {what}{tail}")
        time.sleep(0.1)


def log_tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def database_url() -> str:
    """The URL of the database this test process uses (the test database)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{db['USER']}{password}@{host}/{db['NAME']}"


class Process:
    """A subprocess in its own session, logging to ``log``."""

    def __init__(
        self,
        args: list[str],
        *,
        log: Path,
        env: Mapping[str, str],
        stop_signal: int = signal.SIGTERM,
        **popen,
    ) -> None:
        self.args, self.log, self.env, self.popen = args, log, dict(env), popen
        self.stop_signal = stop_signal
        self.process: subprocess.Popen | None = None

    def start(self) -> "Process":
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self.args,
                cwd=self.popen.pop("cwd", settings.BASE_DIR),
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                **self.popen,
            )
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def logged(self, text: str) -> bool:
        try:
            return text in self.log.read_text(errors="replace")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL to the process and its children: no shutdown code runs."""
        self._signal_group(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 15) -> None:
        """``stop_signal``, then SIGKILL after ``timeout`` seconds; also kills leftover
        children."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(timeout=10)
        self._signal_group(signal.SIGKILL)  # children the parent left behind, if any
        self.process = None

    def _signal_group(self, signum: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)  # the session started for this process only


@contextlib.contextmanager
def _stopped_unless_ready(process: Process) -> Iterator[None]:
    """Stops ``process`` if waiting for it to get ready fails, so nothing is left behind
    even by a caller that does not track it."""
    try:
        yield
    except BaseException:
        process.stop(timeout=5)
        raise


def django_env(folder: Path, **extra: str) -> dict[str, str]:
    """The environment of a Django process (web or Celery) run as in production: base
    settings, its own var folder, the test's database unless ``DATABASE_URL`` is given."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": database_url(),
        "PLS_VAR_DIR": str(folder),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    env.update(extra)
    return env


@contextlib.contextmanager
def use_broker(url: str, settings, monkeypatch) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Points this test process's Celery publishing, and its cache (where a queued drain task
    is marked), at the Redis at ``url``, as the processes a test starts are."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }
    monkeypatch.setattr(app.conf, "broker_url", url)
    broker.reset()
    try:
        yield
    finally:
        broker.reset()


class RedisServer:
    """A throwaway redis-server: no persistence, so a restart starts empty like an outage."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: Process | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = Process(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            log=self.folder / f"redis-{self.port}.log",
            env=os.environ,
        ).start()
        with _stopped_unless_ready(self.process):
            wait_until(
                lambda: answers(self.port), 10, "redis-server to start", log=self.process.log
            )

    def freeze(self) -> None:
        """SIGSTOP: connections stay open and new ones are queued by the kernel, but nothing
        is answered, as with a Redis stalled by a long command, a paused VM or a network
        that drops packets."""
        assert self.process is not None and self.process.process is not None
        self.process.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is not None and self.process.process is not None:
            self.process.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            self.thaw()
            self.process.stop(timeout=10)
            self.process = None


def celery_worker(
    folder: Path,
    *,
    broker_url: str,
    track: list[Process] | None = None,
    name: str = "drill",
    queues: str = "celery",
    pool: str = "solo",
    beat: bool = False,
    env: Mapping[str, str] | None = None,
) -> Process:
    """``celery worker`` (with ``--beat``) on ``broker_url`` and the test's database; returns
    it started and ready to consume. ``env`` adds settings (e.g. shorter sweeps); ``track``
    collects it as soon as it starts, for the caller to stop (also if it never gets ready)."""
    args = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", pool]
    args += ["-Q", queues, "-n", f"{name}@%h", "--without-mingle", "--without-gossip"]
    args += ["--loglevel", "INFO"]
    if pool == "threads":
        args += ["--concurrency", "4"]
    if beat:
        args.append("--beat")
    worker = Process(
        args,
        log=folder / f"celery-{name}.log",
        env=django_env(
            folder / f"var-{name}",
            REDIS_URL=broker_url,
            CELERY_BROKER_URL=broker_url,
            **(env or {}),
        ),
    ).start()
    if track is not None:
        track.append(worker)
    with _stopped_unless_ready(worker):
        wait_until(
            lambda: worker.logged(" ready.") or not worker.running(),
            60,
            f"celery worker {name} to start",
            log=worker.log,
        )
        assert worker.running(), f"celery worker {name} exited:\n{log_tail(worker.log)}"
    return worker


def gunicorn(
    folder: Path,
    *,
    env: Mapping[str, str],
    workers: int = 1,
    track: list[Process] | None = None,
) -> tuple[Process, str]:
    """gunicorn with config/gunicorn.conf.py on a free port; returns it, answering /health,
    and its base URL. ``track`` collects it as soon as it starts, for the caller to stop."""
    port = free_port()
    server = Process(
        # No control socket: its default path is one per user, shared by every gunicorn.
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "--no-control-socket"],
        log=folder / f"gunicorn-{port}.log",
        stop_signal=signal.SIGINT,  # quick shutdown: a drill's requests are over by then
        env=django_env(
            folder / f"var-gunicorn-{port}",
            PORT=str(port),
            GUNICORN_HOST="127.0.0.1",
            GUNICORN_WORKERS=str(workers),
            GUNICORN_THREADS="4",
            GUNICORN_GRACEFUL_TIMEOUT="3",
            GUNICORN_WORKER_TMP_DIR=str(folder),
            **env,
        ),
    ).start()
    if track is not None:
        track.append(server)
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if not server.running():
            return True
        try:
            return requests.get(f"{base}/health", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    with _stopped_unless_ready(server):
        wait_until(healthy, 60, "gunicorn to answer /health", log=server.log)
        assert server.running(), f"gunicorn exited:\n{log_tail(server.log)}"
    return server, base


class PostgresCluster:
    """A private PostgreSQL cluster in a temporary folder on a free port, trusting local TCP
    connections; it can be stopped and started under a running client, as a restart does.

    ``initdb`` refuses to run as root, so as root the cluster belongs to the ``postgres``
    user (its folder is made outside pytest's root-only temporary folders).
    """

    def __init__(self) -> None:
        assert POSTGRES_BIN is not None
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="pls-drill-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/pls"
        self._user: dict = {}
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self._user = {"user": owner.pw_uid, "group": owner.pw_gid}

    def _run(self, *args: str, timeout: float = 60) -> None:
        result = subprocess.run(
            [str(POSTGRES_BIN / args[0]), *args[1:]],
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **self._user,
        )
        assert result.returncode == 0, f"{args[0]} failed:\n{result.stdout}\n{result.stderr}"

    def create(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-N")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "pls")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} "
            "-c fsync=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(AssertionError):
                self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)
