"""What the benchmark scripts share: the bench database, the services they start (gunicorn,
redis-server, a Celery worker), CPU accounting from /proc, percentiles and the RESULT line.

Every script stays runnable on its own (``.venv/bin/python bench/<name>.py``); bench/suite.py
runs them all and reads the one ``RESULT {json}`` line each prints last.

The scripts only ever use a database named by ``--database-url`` / ``BENCH_DATABASE_URL``
(never ``DATABASE_URL``, so a developer's own database is left alone), and only send traffic
to 127.0.0.1.
"""

import argparse
import contextlib
import http.client
import itertools
import json
import os
import resource
import runpy
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GUNICORN_CONF = ROOT / "config" / "gunicorn.conf.py"
RESULTS = ROOT / "bench" / "results"
HOST = "127.0.0.1"  # the only address the benchmarks send traffic to
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BENCH_DATABASE = "postgres://postgres@127.0.0.1:5432/{name}"


# --- Arguments -------------------------------------------------------------------------------


def add_database_argument(parser: argparse.ArgumentParser, name: str, *, fresh: bool) -> None:
    """``--database-url`` (default $BENCH_DATABASE_URL, else the script's own database), and
    ``--fresh`` to drop it first when ``fresh``."""
    default = BENCH_DATABASE.format(name=name)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", default),
        help=f"PostgreSQL to run on (default: $BENCH_DATABASE_URL, else {default})",
    )
    if fresh:
        parser.add_argument(
            "--fresh",
            action="store_true",
            help="drop and recreate the database first (only one whose name contains 'bench')",
        )


def add_service_arguments(
    parser: argparse.ArgumentParser, database: str, *, fresh: bool, redis: bool = True
) -> None:
    """The bench database's arguments and, with ``redis``, ``--redis-url``."""
    add_database_argument(parser, database, fresh=fresh)
    if redis:
        parser.add_argument(
            "--redis-url", help="an existing Redis to use (default: a redis-server of its own)"
        )


def add_gunicorn_arguments(parser: argparse.ArgumentParser, *, workers_flag: str) -> None:
    group = parser.add_argument_group("gunicorn (default: config/gunicorn.conf.py's own)")
    group.add_argument("--worker-class", help="sets GUNICORN_WORKER_CLASS")
    group.add_argument(workers_flag, type=int, dest="gunicorn_workers", help="GUNICORN_WORKERS")
    group.add_argument("--threads", type=int, help="sets GUNICORN_THREADS")


def check_database_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    from psycopg.conninfo import conninfo_to_dict

    if not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error(f"the benchmark runs on PostgreSQL only, not {args.database_url}")
    name = conninfo_to_dict(args.database_url).get("dbname", "")
    if getattr(args, "fresh", False) and "bench" not in name:
        parser.error("--fresh drops the database: it only does so for one named like *bench*")


def apply_gunicorn_arguments(args: argparse.Namespace) -> dict[str, object]:
    """Puts the gunicorn options into the environment the server inherits; returns what
    config/gunicorn.conf.py resolves to with them."""
    for option, variable in (
        ("worker_class", "GUNICORN_WORKER_CLASS"),
        ("gunicorn_workers", "GUNICORN_WORKERS"),
        ("threads", "GUNICORN_THREADS"),
    ):
        if getattr(args, option, None) is not None:
            os.environ[variable] = str(getattr(args, option))
    conf = runpy.run_path(str(GUNICORN_CONF))
    return {key: conf[key] for key in ("worker_class", "workers", "threads", "keepalive")}


def describe_gunicorn(settings: dict[str, object]) -> str:
    threads = f" x {settings['threads']} threads" if settings["worker_class"] == "gthread" else ""
    return (
        f"gunicorn: {settings['worker_class']}, {settings['workers']} workers{threads}, "
        f"keep-alive {settings['keepalive']} s, on {HOST}; {os.cpu_count()} CPUs on this machine"
    )


def stop_on_sigterm() -> None:
    """SIGTERM unwinds through the ``finally`` blocks that stop the servers, as Ctrl-C does."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


# --- The database ----------------------------------------------------------------------------


def prepare_database(url: str, *, fresh: bool = False) -> None:
    """Creates the database if it is missing (or anew with ``fresh``)."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = conninfo_to_dict(url)["dbname"]
    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as conn:
        if fresh:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def product_env(
    database_url: str,
    *,
    redis_url: str = "",
    settings: str = "config.settings.base",
    var_dir: Path | None = None,
) -> dict[str, str]:
    """The environment the product's processes (manage.py, gunicorn, celery) run with.

    The per-worker rate limit is off (``PLS_WORKER_RATE_LIMIT`` empty): the benchmarks send
    hundreds of requests a second with a handful of tokens, so with the default limit they
    would measure 429s. bench/ingest.py measures the limit's own cost separately.
    """
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": settings,
        "DEBUG": "false",  # DEBUG keeps every query in memory
        "ALLOWED_HOSTS": HOST,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        "PLS_WORKER_RATE_LIMIT": "",
    }
    if redis_url:
        env.update(REDIS_URL=redis_url, CELERY_BROKER_URL=redis_url)
    else:
        env.pop("REDIS_URL", None)
        env.pop("CELERY_BROKER_URL", None)
    if var_dir is not None:
        env["PLS_VAR_DIR"] = str(var_dir)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


@contextlib.contextmanager
def services(
    args: argparse.Namespace,
    name: str,
    *,
    settings: str = "config.settings.base",
    redis: bool = True,
) -> Iterator[tuple[dict[str, str], Path]]:
    """What every benchmark starts from: its database created (anew with ``--fresh``) and
    migrated, with ``redis`` a redis-server of its own (or ``--redis-url``) as broker and
    cache, and the product's environment for them. Yields the environment and a scratch
    folder; everything is stopped and removed at the end, and SIGTERM unwinds to here."""
    stop_on_sigterm()
    prepare_database(args.database_url, fresh=getattr(args, "fresh", False))
    with tempfile.TemporaryDirectory(prefix=f"pls-bench-{name}-") as tmp:
        folder = Path(tmp)
        with contextlib.ExitStack() as stack:
            url = stack.enter_context(redis_server(args.redis_url, folder)) if redis else ""
            env = product_env(
                args.database_url, redis_url=url, settings=settings, var_dir=folder / "var"
            )
            manage(env, "migrate", "--noinput", "--verbosity", "0")
            yield env, folder


# Registers a fleet (and a queue of open jobs) in one process: a manage.py call per worker
# would take longer than a measurement. Prints one token per line.
_FLEET = """
from repairs.models import Job, Worker
from repairs.services import worker_register, worker_token_issue
for n in range({workers}):
    worker = worker_register(Worker(name=f"{run}-w{{n}}", team="bench"))
    print(worker_token_issue(worker=worker, label="bench")[1])
priorities = ("high", "medium", "low")
Job.objects.bulk_create(
    [
        Job(external_id=f"{run}-{{i}}", title="bench job", priority=priorities[i % 3])
        for i in range({jobs})
    ],
    batch_size=2000,
)
"""


def register_fleet(env: dict[str, str], run: str, *, workers: int, jobs: int = 0) -> list[str]:
    """Workers ``<run>-w0`` … with a token each, and ``jobs`` open jobs ``<run>-0`` … of
    mixed priority; returns the tokens, in the workers' order."""
    script = _FLEET.format(run=run, workers=workers, jobs=jobs)
    return manage(env, "shell", "--no-imports", "-c", script).split()[-workers:]


def run_threads(target: Callable[..., object], arguments: list[tuple]) -> float:
    """One thread per entry of ``arguments``, all started together; the seconds until the
    last one ends."""
    threads = [threading.Thread(target=target, args=args, daemon=True) for args in arguments]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def setup_django(env: dict[str, str]) -> None:
    """Django in this process, with the product's environment."""
    os.environ.update(env)
    import django

    django.setup()


# --- Processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen, *, timeout: float = 35) -> None:
    """SIGTERM (gunicorn and Celery shut down gracefully on it), SIGKILL to the whole
    process group if that takes too long."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def gunicorn(env: dict[str, str], port: int, log_path: Path) -> Iterator[subprocess.Popen]:
    """gunicorn with config/gunicorn.conf.py on 127.0.0.1:``port``, up and answering /health;
    stopped at the end, whatever happened."""
    executable = Path(sys.executable).parent / "gunicorn"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [
                str(executable),
                "-c",
                str(GUNICORN_CONF),
                "--bind",
                f"{HOST}:{port}",
                # The default control socket is one path per user: leave it to `make run`.
                "--no-control-socket",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so nothing of it outlives us
        )
        try:
            _wait_until_up(server, port, log_path)
            yield server
        finally:
            _stop(server)


def _wait_until_up(server: subprocess.Popen, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}:\n{log_path.read_text()}")
        conn = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer /health within 60 s:\n{log_path.read_text()}")


@contextlib.contextmanager
def redis_server(url: str | None, folder: Path) -> Iterator[str]:
    """The broker and cache: ``url`` if given, else a redis-server of our own on a free port,
    keeping nothing on disk, stopped at the end."""
    if url:
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("no redis-server on PATH: install it, or pass --redis-url")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection((HOST, port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        yield f"redis://{HOST}:{port}/0"
    finally:
        _stop(process, timeout=10)


@contextlib.contextmanager
def celery_worker(
    env: dict[str, str],
    log_path: Path,
    *,
    pool: str,
    concurrency: int,
    queues: str | None = None,
) -> Iterator[subprocess.Popen]:
    """One ``celery worker`` as docker-compose runs it (no mingle, gossip or heartbeat: one
    worker has nobody to talk to); warm shutdown at the end, so running tasks finish. Its
    database pool is sized as the Helm chart sizes it: a connection per thread of a threads
    pool, one per child process of a prefork pool."""
    connections = concurrency if pool == "threads" else 1
    env = {**env, "PLS_DB_POOL_MIN_SIZE": "1", "PLS_DB_POOL_MAX_SIZE": str(connections)}
    command = [sys.executable, "-m", "celery", "-A", "config", "worker"]
    if queues:
        command += ["-Q", queues]
    command += [
        "--pool",
        pool,
        "--concurrency",
        str(concurrency),
        "--loglevel",
        "WARNING",
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
    ]
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield worker
        finally:
            _stop(worker, timeout=30)


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (gunicorn's workers, for its master)."""
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in found.split()]


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a Celery worker's pool processes)."""
    pids = [pid]
    for current in pids:
        pids.extend(children(current))
    return pids


# --- CPU accounting --------------------------------------------------------------------------


def cpu_seconds(pids: list[int], *, reaped: bool = False) -> float:
    """User plus system CPU of these processes, from /proc (0 for any that has gone).

    With ``reaped``, also the CPU of their children that have exited: PostgreSQL replaces a
    backend whenever a pool replaces a connection, and the postmaster inherits
    the old backend's CPU when it reaps it.
    """
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if reaped:
            total += int(fields[13]) + int(fields[14])  # cutime, cstime
    return total / CLOCK_TICKS


def postgres_pids() -> list[int]:
    """A local PostgreSQL's processes (none if the database runs elsewhere)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            if stat.read_text().startswith(f"{stat.parent.name} (postgres)"):
                pids.append(int(stat.parent.name))
    return pids


def backend_pids(url: str) -> list[int]:
    """The PostgreSQL backends connected to ``url``'s database, other than this process's
    own (pg_stat_activity): the server's pooled connections, once it has warmed up."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchall()
    return [row[0] for row in rows]


def machine_busy() -> float:
    """CPU seconds the whole machine has spent working (all cores), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq = (
        int(value) for value in Path("/proc/stat").read_text().split()[1:8]
    )
    return (user + nice + system + irq + softirq) / CLOCK_TICKS


@dataclass
class Cpu:
    """CPU seconds used so far by the server's processes, PostgreSQL, this process (the load
    generator), and the whole machine."""

    server: float = 0.0
    postgres: float = 0.0
    client: float = 0.0
    machine: float = 0.0

    @classmethod
    def now(cls, server_pids: list[int], backends: list[int] | None = None) -> "Cpu":
        """With ``backends``, PostgreSQL is those backends alone (the server's connections:
        ``backend_pids``); otherwise every PostgreSQL process on the machine."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return cls(
            server=cpu_seconds(server_pids),
            postgres=(
                cpu_seconds(backends)
                if backends is not None
                else cpu_seconds(postgres_pids(), reaped=True)
            ),
            client=usage.ru_utime + usage.ru_stime,
            machine=machine_busy(),
        )

    def __sub__(self, other: "Cpu") -> "Cpu":
        return Cpu(
            self.server - other.server,
            self.postgres - other.postgres,
            self.client - other.client,
            self.machine - other.machine,
        )

    @property
    def other(self) -> float:
        """Everything else on the machine: other jobs running beside the bench."""
        return max(self.machine - self.server - self.postgres - self.client, 0.0)

    @property
    def disturbed(self) -> bool:
        """Other processes took over a tenth of the CPU: the figures are a floor."""
        return self.other > 0.1 * self.machine

    def per(self, count: int) -> dict[str, float]:
        """Milliseconds of CPU per unit of work, by whom."""
        if not count:
            return {"server": 0.0, "postgres": 0.0, "client": 0.0, "other": 0.0}
        return {
            "server": self.server * 1000 / count,
            "postgres": self.postgres * 1000 / count,
            "client": self.client * 1000 / count,
            "other": self.other * 1000 / count,
        }


# --- Load ------------------------------------------------------------------------------------


@dataclass
class Run:
    """One measured run against one path: its latencies, failures, wall time and CPU."""

    name: str
    path: str
    latencies: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    wall_seconds: float = 0.0
    warmed_up: int = 0
    cpu: Cpu = field(default_factory=Cpu)

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.wall_seconds if self.wall_seconds else 0.0

    def cpu_ms(self) -> dict[str, float]:
        return self.cpu.per(len(self.latencies))


def drive(
    run: Run,
    port: int,
    headers: list[dict[str, str]],
    body: Callable[[int], bytes],
    *,
    ok: int,
    requests: int,
    first: int,
    duration: float,
    rate: float | None = None,
    key: Callable[[int], str] | None = None,
) -> Run:
    """Sends ``requests`` POSTs numbered from ``first``, one client thread per entry of
    ``headers`` (a worker's token), each on its own keep-alive socket; an answer other than
    ``ok`` counts as a failure. Flat out, or with ``rate`` each request sent at its own moment
    of a schedule spread over the clients (the latency then counts from that moment, so a
    late send is counted as waiting). ``key``: the Idempotency-Key of request ``i``."""
    numbers = itertools.count(first)  # next() on it is atomic under the GIL
    last = first + requests
    started_at = time.monotonic()
    stop_at = started_at + duration
    lock = threading.Lock()

    def client(own: dict[str, str]) -> None:
        # http.client reopens the socket by itself when the server answered Connection: close.
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            while (i := next(numbers)) < last and time.monotonic() < stop_at:
                due = None
                if rate:
                    due = started_at + (i - first) / rate
                    time.sleep(max(due - time.monotonic(), 0.0))
                sent = {**own, "Idempotency-Key": key(i)} if key else own
                payload = body(i)
                begun = time.perf_counter()
                try:
                    conn.request("POST", run.path, body=payload, headers=sent)
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    with lock:
                        run.failures[type(exc).__name__] += 1
                    continue
                elapsed = time.perf_counter() - begun
                if due is not None:
                    elapsed = max(elapsed, time.monotonic() - due)
                if response.status == ok:
                    run.latencies.append(elapsed)  # list.append is atomic
                else:
                    with lock:
                        run.failures[f"HTTP {response.status}"] += 1
        finally:
            conn.close()

    run.wall_seconds = run_threads(client, [(own,) for own in headers])
    return run


def measure(
    run: Run,
    port: int,
    master: int,
    headers: list[dict[str, str]],
    body: Callable[[int], bytes],
    *,
    ok: int,
    requests: int,
    warmup: int,
    first: int,
    duration: float,
    database_url: str,
    rate: float | None = None,
    key: Callable[[int], str] | None = None,
) -> Run:
    """``warmup`` unmeasured requests (every worker imports, resolves URLs and opens its
    database connections; none for 0), then ``run``: ``drive``'s ``requests`` from
    ``first + warmup``, with the CPU gunicorn's workers (children of ``master``) and their
    PostgreSQL backends spent on them."""
    load = {"ok": ok, "duration": duration, "key": key}
    if warmup:
        warm = drive(Run(run.name, run.path), port, headers, body, requests=warmup, first=first,
                     **load)  # fmt: skip
        if warm.failures:
            raise RuntimeError(f"{run.name} failed during warm-up: {dict(warm.failures)}")
        run.warmed_up = len(warm.latencies)
    pids = children(master)
    # The pools' connections are open after the warm-up: their backends are gunicorn's share
    # of PostgreSQL (other databases on the server do not count).
    backends = backend_pids(database_url)
    before = Cpu.now(pids, backends)
    drive(run, port, headers, body, requests=requests, first=first + warmup, rate=rate, **load)
    run.cpu = Cpu.now(pids, backends) - before
    return run


# --- Figures ---------------------------------------------------------------------------------


def percentile_ms(seconds: list[float], pct: int) -> float:
    """The ``pct``th percentile of durations in seconds, in milliseconds (NaN if < 2)."""
    if len(seconds) < 2:
        return float("nan")
    return statistics.quantiles(seconds, n=100, method="inclusive")[pct - 1] * 1000


def report_result(name: str, result: dict[str, object]) -> Path:
    """Prints the ``RESULT {json}`` line bench/suite.py reads (the script's last line) and
    keeps the JSON in bench/results/ (not committed)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print("RESULT " + json.dumps(result), flush=True)
    return path


def log_path(name: str, suffix: str = "log") -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    return RESULTS / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.{suffix}"
