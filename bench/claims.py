"""Claims per second for 20 workers calling claim-next at once over HTTP.

    .venv/bin/python bench/claims.py [--workers 20] [--jobs 8000] [--duration 30]

Runs on PostgreSQL at BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/pls_bench_claims; created and migrated if need be; never
DATABASE_URL, so a developer's own database is left alone). It registers --workers workers,
each with its own token, and --jobs open jobs of mixed priority, starts gunicorn with
config/gunicorn.conf.py on a free 127.0.0.1 port, and lets every worker call
``POST /api/v1/jobs/claim-next`` on its own keep-alive connection until the queue is empty
or --duration is up. It prints claims/s, p50 and p99 latency, checks that no job was handed
out twice and that the database holds exactly the claims the workers were told about, then
prints a ``RESULT`` line for scripts. Gunicorn is stopped at the end, whatever happened.

The workers are threads in this process and share the machine's cores with gunicorn and
PostgreSQL, so the figures are a floor for a server with cores of its own. The CPU each of
them used per claim is printed, with a warning when other processes took a share. Redis is
the cache (a redis-server of its own, or --redis-url); the per-worker rate limit is off. The
RESULT as JSON and gunicorn's log are kept in bench/results/ (not committed). The target is
300 claims/s (issue 4).
"""

import argparse
import http.client
import json
import os
import secrets
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    HOST,
    Cpu,
    add_gunicorn_arguments,
    add_service_arguments,
    apply_gunicorn_arguments,
    check_database_arguments,
    children,
    describe_gunicorn,
    free_port,
    gunicorn,
    log_path,
    percentile_ms,
    register_fleet,
    report_result,
    run_threads,
    services,
)

CLAIM_NEXT = "/api/v1/jobs/claim-next"
TARGET_PER_SECOND = 300


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    claimed: list[list[str]] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    empty: int = 0
    wall_seconds: float = 0.0
    cpu: Cpu = field(default_factory=Cpu)

    @property
    def claims(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.claims / self.wall_seconds if self.wall_seconds else 0.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=20, help="concurrent workers")
    parser.add_argument("--jobs", type=int, default=8000, help="open jobs in the queue")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured claims per worker")
    parser.add_argument("--duration", type=float, default=30.0, help="upper bound in seconds")
    add_service_arguments(parser, "pls_bench_claims", fresh=False)
    add_gunicorn_arguments(parser, workers_flag="--gunicorn-workers")
    args = parser.parse_args()
    if args.workers < 1 or args.jobs < args.workers * (args.warmup + 2):
        parser.error("need --workers >= 1 and enough --jobs for the warm-up and a measurement")
    check_database_arguments(parser, args)
    return args


def drive(run: Run, port: int, tokens: list[str], *, claims_each: int | None, until: float) -> Run:
    """Each worker calls claim-next on its own keep-alive connection, ``claims_each`` times
    (or until the queue is empty or ``until`` passes), all starting together."""
    lock = threading.Lock()
    start = threading.Barrier(len(tokens))
    run.claimed = [[] for _ in tokens]

    def worker(index: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[index]}", "Content-Length": "0"}
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        taken = run.claimed[index]
        try:
            start.wait()
            while (claims_each is None or len(taken) < claims_each) and time.monotonic() < until:
                started = time.perf_counter()
                try:
                    conn.request("POST", CLAIM_NEXT, headers=headers)
                    response = conn.getresponse()
                    body = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    with lock:
                        run.failures[type(exc).__name__] += 1
                    continue
                elapsed = time.perf_counter() - started
                if response.status == 200:
                    run.latencies.append(elapsed)  # list.append is atomic
                    taken.append(json.loads(body)["external_id"])
                elif response.status == 204:
                    with lock:
                        run.empty += 1
                    return
                else:
                    with lock:
                        run.failures[f"HTTP {response.status}"] += 1
                    return
        finally:
            conn.close()

    run.wall_seconds = run_threads(worker, [(i,) for i in range(len(tokens))])
    return run


def database_claims(url: str, run_id: str) -> dict[str, int]:
    """Jobs this run's workers hold, and this run's jobs still open. (The queue may also
    hold open jobs an interrupted earlier run left; this run's workers claim those too.)"""
    with psycopg.connect(url) as conn:
        held = conn.execute(
            "SELECT count(*) FROM repairs_job AS job JOIN repairs_worker AS worker "
            "ON worker.id = job.claimed_by_id WHERE worker.name LIKE %s AND job.status = 'claimed'",
            [f"{run_id}-w%"],
        ).fetchone()
        still_open = conn.execute(
            "SELECT count(*) FROM repairs_job WHERE external_id LIKE %s AND status = 'open'",
            [f"{run_id}-%"],
        ).fetchone()
    return {"claimed": held[0] if held else 0, "open": still_open[0] if still_open else 0}


def report(
    run: Run,
    warm: Run,
    settings: dict[str, object],
    args: argparse.Namespace,
    in_database: dict[str, int],
) -> dict[str, object]:
    handed_out = [job for taken in (*warm.claimed, *run.claimed) for job in taken]
    duplicates = sum(1 for count in Counter(handed_out).values() if count > 1)
    consistent = in_database.get("claimed", 0) == len(handed_out)
    p50, p99 = percentile_ms(run.latencies, 50), percentile_ms(run.latencies, 99)
    print(describe_gunicorn(settings))
    print(f"database: {args.database_url}; queue of {args.jobs} open jobs (high/medium/low)")
    print(
        f"load: {args.workers} workers (threads in this process, one keep-alive connection "
        f"and token each) calling claim-next after {args.warmup} warm-up claims each, "
        f"at most {args.duration:.0f} s"
    )
    print()
    print(f"{'claims/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'claims':>8}{'failed':>7}  target")
    print(
        f"{run.per_second:>9.0f}{p50:>8.1f}{p99:>8.1f}"
        f"{run.claims:>8}{sum(run.failures.values()):>7}  >= {TARGET_PER_SECOND}/s "
        + ("met" if run.per_second >= TARGET_PER_SECOND else "MISSED")
    )
    for reason, count in run.failures.most_common():
        print(f"    {count} x {reason}")
    print(
        f"handed out {len(handed_out)} jobs (with the warm-up), {duplicates} more than once; "
        f"the database has {in_database.get('claimed', 0)} claimed by these workers and "
        f"{in_database.get('open', 0)} of this run's jobs still open: "
        + ("consistent" if consistent else "MISMATCH")
    )
    print()
    print("CPU per claim, ms (gunicorn, PostgreSQL and the load generator share these cores):")
    print(f"{'gunicorn':>10}{'postgres':>10}{'load gen':>10}{'other':>8}{'cores busy':>14}")
    cpu = run.cpu.per(run.claims)
    busy = run.cpu.machine / run.wall_seconds if run.wall_seconds else 0.0
    print(
        f"{cpu['server']:>10.2f}{cpu['postgres']:>10.2f}{cpu['client']:>10.2f}"
        f"{cpu['other']:>8.2f}{busy:>10.2f} of {os.cpu_count()}"
    )
    if run.cpu.disturbed:
        print("WARNING: other processes used over 10% of the CPU: these figures are disturbed.")
    return {
        "claims_per_s": round(run.per_second),
        "p50_ms": round(p50, 1),
        "p99_ms": round(p99, 1),
        "claims": run.claims,
        "workers": args.workers,
        "duplicates": duplicates,
        "consistent": consistent,
        "failed": sum(run.failures.values()) + sum(warm.failures.values()),
        "cpu_ms": {key: round(value, 2) for key, value in cpu.items()},
        "gunicorn": settings,
        "disturbed": run.cpu.disturbed,
        "target_met": run.per_second >= TARGET_PER_SECOND,
    }


def main() -> int:
    args = parse_args()
    settings = apply_gunicorn_arguments(args)

    with services(args, "claims") as (env, tmp):
        run_id = f"bench-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        tokens = register_fleet(env, run_id, workers=args.workers, jobs=args.jobs)
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            # A run stopped early leaves open jobs behind; close them, so the queue holds
            # exactly this run's --jobs (claim-next would hand the older ones out first).
            conn.execute(
                "UPDATE repairs_job SET status = 'completed', completed_at = now() "
                "WHERE status = 'open' AND external_id LIKE 'bench-%%' "
                "AND external_id NOT LIKE %s",
                [f"{run_id}-%"],
            )
            conn.execute("VACUUM (ANALYZE) repairs_job")

        log = log_path("claims")
        port = free_port()
        server_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics")}
        with gunicorn(server_env, port, log) as server:
            # Warm-up: every gunicorn worker imports, resolves URLs and opens its connection.
            warm = drive(Run(), port, tokens, claims_each=args.warmup, until=time.monotonic() + 60)
            if warm.failures:
                raise RuntimeError(f"claim-next failed during warm-up: {dict(warm.failures)}")
            pids = children(server.pid)
            cpu_before = Cpu.now(pids)
            run = drive(
                Run(), port, tokens, claims_each=None, until=time.monotonic() + args.duration
            )
            run.cpu = Cpu.now(pids) - cpu_before
    result = report(run, warm, settings, args, database_claims(args.database_url, run_id))
    print(f"gunicorn log: {log}")
    report_result("claims", result)
    return 1 if result["failed"] or result["duplicates"] or not result["consistent"] else 0


if __name__ == "__main__":
    sys.exit(main())
