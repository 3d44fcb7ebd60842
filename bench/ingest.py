"""Throughput of repair-event ingest, against the framework's own ceiling.

    .venv/bin/python bench/ingest.py [--requests 5000] [--clients 16]

Starts gunicorn with config/gunicorn.conf.py on a free 127.0.0.1 port against PostgreSQL at
BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/pls_bench; created and migrated
if need be; never DATABASE_URL, so a developer's own database is left alone), creates a
worker, and drives ``POST /api/v1/worker-repair-events`` with --clients keep-alive
connections. It then does the same against ``POST /bench/bare-repair-events``
(bench/bare.py: the same row through the same middleware, without DRF, authentication or
validation) and prints events/s, p50 and p99 latency for both and their ratio, then a
``RESULT`` line for scripts. Gunicorn is stopped at the end, whatever happened.

The load comes from threads in this process and shares the machine's cores with gunicorn
and PostgreSQL, so the figures are a floor for a server with cores of its own. The CPU each
of them used per event is printed too, with a warning when other processes took a share.
The RESULT as JSON and gunicorn's log are kept in bench/results/ (not committed).

The figures depend on what the database already holds (the repeat count reads earlier
events with the same fingerprint), and every run adds to it: compare runs with --fresh.
"""

import argparse
import contextlib
import http.client
import itertools
import json
import os
import resource
import runpy
import secrets
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

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "config" / "gunicorn.conf.py"
RESULTS = ROOT / "bench" / "results"
HOST = "127.0.0.1"  # the only address this script sends traffic to
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/pls_bench"
INGEST_PATH = "/api/v1/worker-repair-events"
BARE_PATH = "/bench/bare-repair-events"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Enough shapes that the repeat-count query sees several fingerprints, few enough that each
# one repeats as it does when a fleet hits the same outage.
UPSTREAMS = [f"svc-{name}" for name in ("git", "ci", "registry", "queue", "llm", "s3", "dns")]
FAILURES = [
    ("stuck_claim", "context_fetch_failed", "context", "retry", "job {i} fetch from {up} failed"),
    ("stuck_claim", "test_failed", "verify", "propose", "{n} tests failed after patch on {up}"),
    ("artifact_guard", "artifact_missing", "publish", "diagnose", "artifact {i} absent on {up}"),
    ("friction", "rate_limited", "plan", "report_friction", "{up} answered 429 after {n} calls"),
]


@dataclass
class Cpu:
    """CPU seconds used so far by gunicorn's workers, PostgreSQL, this process, the machine."""

    gunicorn: float
    postgres: float
    client: float
    machine: float

    @classmethod
    def now(cls, gunicorn_pids: list[int]) -> "Cpu":
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return cls(
            gunicorn=cpu_seconds(gunicorn_pids),
            postgres=cpu_seconds(postgres_pids(), reaped=True),
            client=usage.ru_utime + usage.ru_stime,
            machine=machine_busy(),
        )

    def __sub__(self, other: "Cpu") -> "Cpu":
        return Cpu(
            self.gunicorn - other.gunicorn,
            self.postgres - other.postgres,
            self.client - other.client,
            self.machine - other.machine,
        )

    @property
    def other(self) -> float:
        """Everything else on the machine: another job running beside the bench."""
        return max(self.machine - self.gunicorn - self.postgres - self.client, 0.0)


@dataclass
class Run:
    name: str
    path: str
    latencies: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    wall_seconds: float = 0.0
    warmed_up: int = 0
    cpu: Cpu = field(default_factory=lambda: Cpu(0.0, 0.0, 0.0, 0.0))

    @property
    def events_per_second(self) -> float:
        return len(self.latencies) / self.wall_seconds if self.wall_seconds else 0.0

    def percentile_ms(self, pct: int) -> float:
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[pct - 1] * 1000

    def cpu_ms_per_event(self, seconds: float) -> float:
        return seconds * 1000 / len(self.latencies) if self.latencies else 0.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000, help="measured requests per target")
    parser.add_argument("--clients", type=int, default=16, help="concurrent keep-alive clients")
    parser.add_argument(
        "--duration", type=float, default=60.0, help="upper bound in seconds per target"
    )
    parser.add_argument("--warmup", type=int, default=400, help="unmeasured requests per target")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help=f"PostgreSQL to run on (default: $BENCH_DATABASE_URL, else {DEFAULT_DATABASE_URL})",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="drop and recreate the database first (only one whose name contains 'bench')",
    )
    group = parser.add_argument_group("gunicorn (default: config/gunicorn.conf.py's own)")
    group.add_argument("--worker-class", help="sets GUNICORN_WORKER_CLASS")
    group.add_argument("--workers", type=int, help="sets GUNICORN_WORKERS")
    group.add_argument("--threads", type=int, help="sets GUNICORN_THREADS")
    args = parser.parse_args()
    if args.requests < 2 or args.clients < 1:
        parser.error("need --requests >= 2 and --clients >= 1")
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error(f"the benchmark runs on PostgreSQL only, not {args.database_url}")
    if args.fresh and "bench" not in conninfo_to_dict(args.database_url).get("dbname", ""):
        parser.error("--fresh drops the database: it only does so for one named like *bench*")
    return args


def prepare_database(url: str, *, fresh: bool) -> None:
    """Creates the database if it is missing (or anew with ``fresh``)."""
    name = conninfo_to_dict(url)["dbname"]
    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as conn:
        if fresh:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def settle_events_table(url: str) -> tuple[int, str]:
    """VACUUM ANALYZE the events table; returns its row count and the server's autovacuum.

    A production server's autovacuum keeps the statistics and the visibility map current; a
    bench database filled by earlier runs may have neither (this machine's PostgreSQL runs with
    autovacuum off), which would make the repeat-count query read every heap page it counts.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) worker_repair_events")
        rows = conn.execute("SELECT count(*) FROM worker_repair_events").fetchone()
        autovacuum = conn.execute("SHOW autovacuum").fetchone()
    return (rows[0] if rows else 0), (autovacuum[0] if autovacuum else "unknown")


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def gunicorn_settings() -> dict[str, object]:
    """What config/gunicorn.conf.py resolves to in this environment, for the report."""
    conf = runpy.run_path(str(GUNICORN_CONF))
    return {key: conf[key] for key in ("worker_class", "workers", "threads", "keepalive")}


@contextlib.contextmanager
def gunicorn(env: dict[str, str], port: int, log_path: Path) -> Iterator[subprocess.Popen]:
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
            wait_until_up(server, port, log_path)
            yield server
        finally:
            stop(server)


def wait_until_up(server: subprocess.Popen, port: int, log_path: Path) -> None:
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


def stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    server.terminate()  # the master stops its workers gracefully on SIGTERM
    try:
        server.wait(timeout=35)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def worker_pids(master: int) -> list[int]:
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text()
    except OSError:
        return []
    return [int(pid) for pid in children.split()]


def cpu_seconds(pids: list[int], *, reaped: bool = False) -> float:
    """User plus system CPU of these processes, from /proc (0 for any that has gone).

    With ``reaped``, also the CPU of their children that have exited: PostgreSQL replaces a
    backend whenever Django reopens a connection (CONN_MAX_AGE), and the postmaster inherits
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


def machine_busy() -> float:
    """CPU seconds the whole machine has spent working (all cores), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq = (
        int(value) for value in Path("/proc/stat").read_text().split()[1:8]
    )
    return (user + nice + system + irq + softirq) / CLOCK_TICKS


def ingest_body(i: int) -> bytes:
    gate, error_class, phase, action, template = FAILURES[i % len(FAILURES)]
    upstream = UPSTREAMS[(i // len(FAILURES)) % len(UPSTREAMS)]
    return json.dumps(
        {
            "gate": gate,
            "error_class": error_class,
            "job": f"JOB-{i}",
            "phase": phase,
            "action": action,
            "message": template.format(i=i, n=i % 97, up=upstream),
            "evidence": f"curl: (22) The requested URL returned error: 503\nattempt {i % 5 + 1}",
        }
    ).encode()


def drive(
    run: Run,
    port: int,
    headers: dict[str, str],
    body: Callable[[int], bytes],
    *,
    requests: int,
    clients: int,
    duration: float,
    first: int,
) -> Run:
    """Sends ``requests`` POSTs from ``clients`` threads, each on its own keep-alive socket."""
    numbers = itertools.count(first)  # next() on it is atomic under the GIL
    last = first + requests
    stop_at = time.monotonic() + duration
    lock = threading.Lock()

    def client() -> None:
        # http.client reopens the socket by itself when the server answered Connection: close.
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            while (i := next(numbers)) < last and time.monotonic() < stop_at:
                payload = body(i)
                started = time.perf_counter()
                try:
                    conn.request("POST", run.path, body=payload, headers=headers)
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    with lock:
                        run.failures[type(exc).__name__] += 1
                    continue
                elapsed = time.perf_counter() - started
                if response.status == 201:
                    run.latencies.append(elapsed)  # list.append is atomic
                else:
                    with lock:
                        run.failures[f"HTTP {response.status}"] += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.wall_seconds = time.perf_counter() - started
    return run


def measure(
    name: str, path: str, port: int, master: int, headers: dict[str, str], args: argparse.Namespace
) -> Run:
    common = {"clients": args.clients, "duration": args.duration}
    # Warm-up: every worker imports, resolves URLs and opens its database connections.
    warm = drive(
        Run(name, path), port, headers, ingest_body, requests=args.warmup, first=0, **common
    )
    if warm.failures:
        raise RuntimeError(f"{name} failed during warm-up: {dict(warm.failures)}")
    pids = worker_pids(master)
    cpu_before = Cpu.now(pids)
    run = drive(
        Run(name, path),
        port,
        headers,
        ingest_body,
        requests=args.requests,
        first=args.warmup,
        **common,
    )
    run.cpu = Cpu.now(pids) - cpu_before
    run.warmed_up = len(warm.latencies)
    return run


def counted_by_metrics(port: int) -> float | None:
    """Repair events /metrics reports, summed over gates (None if it cannot be read).

    With several workers this is only right if multi-process mode works: each worker writes
    its own files and /metrics, served by whichever worker, adds them up.
    """
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        response = conn.getresponse()
        text = response.read().decode()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()
    if response.status != 200:
        return None
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("pls_repair_events_total{")
    )


def report(
    runs: list[Run],
    settings: dict[str, object],
    args: argparse.Namespace,
    table: tuple[int, str],
    log_path: Path,
    metrics_count: float | None,
) -> dict[str, object]:
    ingest, bare = runs
    ratio = ingest.events_per_second / bare.events_per_second if bare.events_per_second else 0.0
    threads = f" x {settings['threads']} threads" if settings["worker_class"] == "gthread" else ""
    print(
        f"gunicorn: {settings['worker_class']}, {settings['workers']} workers{threads}, "
        f"keep-alive {settings['keepalive']} s, on {HOST}; {os.cpu_count()} CPUs on this machine"
    )
    rows_before, autovacuum = table
    print(
        f"database: {args.database_url}: {rows_before} events before the run, "
        f"vacuumed and analysed (autovacuum is {autovacuum} on this server)"
    )
    print(
        f"load: {args.clients} client threads in this process, one keep-alive connection each; "
        f"{args.requests} requests per target (at most {args.duration:.0f} s) "
        f"after {args.warmup} warm-up requests"
    )
    print()
    print(
        f"{'target':<8}{'path':<30}{'events/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'ok':>7}{'failed':>7}"
    )
    for run in runs:
        print(
            f"{run.name:<8}{run.path:<30}{run.events_per_second:>9.0f}"
            f"{run.percentile_ms(50):>8.1f}{run.percentile_ms(99):>8.1f}"
            f"{len(run.latencies):>7}{sum(run.failures.values()):>7}"
        )
        for reason, count in run.failures.most_common():
            print(f"    {count} x {reason}")
    print(f"ratio ingest/bare: {ratio:.2f}")
    print()
    print("CPU per event, ms (gunicorn, PostgreSQL and the load generator share these cores):")
    print(
        f"{'target':<8}{'gunicorn':>10}{'postgres':>10}{'load gen':>10}{'other':>8}"
        f"{'cores busy':>14}"
    )
    disturbed = False
    for run in runs:
        busy = run.cpu.machine / run.wall_seconds if run.wall_seconds else 0.0
        print(
            f"{run.name:<8}{run.cpu_ms_per_event(run.cpu.gunicorn):>10.2f}"
            f"{run.cpu_ms_per_event(run.cpu.postgres):>10.2f}"
            f"{run.cpu_ms_per_event(run.cpu.client):>10.2f}"
            f"{run.cpu_ms_per_event(run.cpu.other):>8.2f}"
            f"{busy:>10.2f} of {os.cpu_count()}"
        )
        disturbed = disturbed or run.cpu.other > 0.1 * run.cpu.machine
    if disturbed:
        print("WARNING: other processes used over 10% of the CPU: these figures are disturbed.")
    accepted = ingest.warmed_up + len(ingest.latencies)
    if metrics_count is None:
        print("WARNING: /metrics could not be read.")
    elif metrics_count != accepted:
        print(
            f"WARNING: /metrics counts {metrics_count:.0f} repair events where gunicorn "
            f"accepted {accepted}: multi-process mode is not adding up the workers."
        )
    else:
        print(f"/metrics counts all {accepted} accepted events, summed across the workers.")
    print(f"gunicorn log: {log_path.relative_to(ROOT)}")
    result = {
        "ingest_eps": round(ingest.events_per_second),
        "ingest_p50_ms": round(ingest.percentile_ms(50), 1),
        "ingest_p99_ms": round(ingest.percentile_ms(99), 1),
        "bare_eps": round(bare.events_per_second),
        "bare_p50_ms": round(bare.percentile_ms(50), 1),
        "bare_p99_ms": round(bare.percentile_ms(99), 1),
        "ratio": round(ratio, 2),
        "ingest_gunicorn_cpu_ms": round(ingest.cpu_ms_per_event(ingest.cpu.gunicorn), 2),
        "bare_gunicorn_cpu_ms": round(bare.cpu_ms_per_event(bare.cpu.gunicorn), 2),
        "clients": args.clients,
        "worker_class": settings["worker_class"],
        "workers": settings["workers"],
        "threads": settings["threads"],
        "failed": sum(sum(run.failures.values()) for run in runs),
        "metrics_ok": str(metrics_count == accepted).lower(),
    }
    print("RESULT " + " ".join(f"{key}={value}" for key, value in result.items()))
    return result


def main() -> int:
    args = parse_args()
    # SIGTERM should unwind through the finally blocks that stop gunicorn, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    for option, variable in (
        ("worker_class", "GUNICORN_WORKER_CLASS"),
        ("workers", "GUNICORN_WORKERS"),
        ("threads", "GUNICORN_THREADS"),
    ):
        if getattr(args, option) is not None:
            os.environ[variable] = str(getattr(args, option))
    settings = gunicorn_settings()

    prepare_database(args.database_url, fresh=args.fresh)
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "false",  # DEBUG keeps every query in memory
        "ALLOWED_HOSTS": HOST,
    }
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    rows_before, autovacuum = settle_events_table(args.database_url)
    worker = f"bench-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
    token = manage(env, "create_worker", worker, "--team", "bench").strip().splitlines()[-1]

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_path = RESULTS / f"ingest-{stamp}.log"
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="pls-bench-metrics-") as metrics_dir:
        # As in production with several workers: counters go through the shared folder.
        server_env = {**env, "BENCH_WORKER": worker, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
        with gunicorn(server_env, port, log_path) as server:
            json_headers = {"Content-Type": "application/json"}
            runs = [
                measure(
                    "ingest",
                    INGEST_PATH,
                    port,
                    server.pid,
                    {**json_headers, "Authorization": f"Bearer {token}"},
                    args,
                ),
                measure("bare", BARE_PATH, port, server.pid, json_headers, args),
            ]
            metrics_count = counted_by_metrics(port)
    result = report(runs, settings, args, (rows_before, autovacuum), log_path, metrics_count)
    (RESULTS / f"ingest-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
