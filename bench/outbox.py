"""Owner reports delivered per second by one Celery worker, and the delay from enqueue to
delivery.

    .venv/bin/python bench/outbox.py [--reports 3000] [--channels 4] [--rate 100]

Runs on PostgreSQL at BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/pls_bench_outbox; created and migrated if need be; never
DATABASE_URL) with a Redis broker: a redis-server of its own on a free port (or --redis-url).
It starts ONE ``celery worker`` (--pool, --concurrency) and a local sink that answers every
webhook at once with HTTP/1.1 keep-alive, creates --channels generic-webhook channels
pointing at it, and enqueues reports the way the product does: ``report_enqueue`` in a
transaction, whose commit asks Celery to drain.

Two phases:

- burst: --reports reports enqueued as fast as --enqueuers threads can. Reports/s is
  delivered reports over the time from the first delivery to the last; the delay here
  includes the time spent waiting in the backlog.
- paced: --paced-reports at --rate per second, well under capacity: the delay a single
  report sees when the outbox is not backed up.

The enqueuers, the sink, the worker and PostgreSQL share the machine's cores, so the figures
are a floor. CPU per report of the worker and of PostgreSQL is printed, and a RESULT line
for scripts; the JSON goes to bench/results/ (not committed).
"""

import argparse
import os
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    HOST,
    Cpu,
    add_service_arguments,
    celery_worker,
    check_database_arguments,
    log_path,
    percentile_ms,
    process_tree,
    report_result,
    services,
    setup_django,
)

TARGET_PER_SECOND = 300


# --- The sink: a provider that accepts everything at once -------------------------------------


class Sink(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__((HOST, 0), SinkHandler)
        self.lock = threading.Lock()
        self.arrivals: dict[int, float] = {}
        self.repeats: Counter[int] = Counter()
        self.connections = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"

    def record(self, report_id: int) -> None:
        now = time.time()
        with self.lock:
            if report_id in self.arrivals:
                self.repeats[report_id] += 1
            else:
                self.arrivals[report_id] = now


class SinkHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the connection stays open between reports
    server: Sink

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.record(int(self.headers["X-PLS-Report-Id"]))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # a line per report would cost more than the answer


# --- Enqueueing --------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    enqueued_at: dict[int, float] = field(default_factory=dict)
    enqueue_seconds: float = 0.0
    # server: the Celery worker and its pool; client: this process (enqueuers and the sink)
    cpu: Cpu = field(default_factory=Cpu)

    def delays(self, sink: Sink) -> list[float]:
        return [
            sink.arrivals[pk] - sent for pk, sent in self.enqueued_at.items() if pk in sink.arrivals
        ]

    def delivered_per_second(self, sink: Sink) -> float:
        times = [sink.arrivals[pk] for pk in self.enqueued_at if pk in sink.arrivals]
        if len(times) < 2:
            return 0.0
        return (len(times) - 1) / (max(times) - min(times))


def enqueue(phase: Phase, count: int, channels: list[str], threads: int, rate: float | None):
    """Raises ``count`` reports round-robin over ``channels``, each in its own transaction,
    from ``threads`` threads; paced to ``rate`` per second when given."""
    from django.db import connection, transaction

    from notifications.services import report_enqueue

    numbers = iter(range(count))
    lock = threading.Lock()
    started = time.monotonic()

    def run() -> None:
        try:
            while True:
                with lock:
                    i = next(numbers, None)
                if i is None:
                    return
                if rate:
                    delay = started + i / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                at = time.time()
                with transaction.atomic():
                    (report,) = report_enqueue(
                        source="bench.outbox",
                        title=f"{phase.name} report {i}",
                        team="bench",
                        task_id=f"BENCH-{i}",
                        progress=f"{i + 1}/{count}",
                        channel=channels[i % len(channels)],
                    )
                phase.enqueued_at[report.pk] = at  # dict assignment is atomic
        finally:
            connection.close()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    phase.enqueue_seconds = time.monotonic() - started


def wait_for_delivery(phase: Phase, sink: Sink, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sink.lock:
            if all(pk in sink.arrivals for pk in phase.enqueued_at):
                return
        time.sleep(0.05)


# --- Main --------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=3000, help="reports in the burst phase")
    parser.add_argument("--paced-reports", type=int, default=500, help="reports, paced phase")
    parser.add_argument("--rate", type=float, default=100.0, help="paced phase, reports/s")
    parser.add_argument("--channels", type=int, default=4, help="webhook channels on the sink")
    parser.add_argument("--enqueuers", type=int, default=4, help="threads raising reports")
    parser.add_argument("--pool", default="prefork", help="the worker's pool (prefork, threads)")
    parser.add_argument(
        "--concurrency", type=int, default=os.cpu_count() or 2, help="the worker's concurrency"
    )
    parser.add_argument("--max-count", type=int, default=None, help="PLS_NOTIFY_MAX_COUNT")
    parser.add_argument(
        "--reuse-db-connections",
        type=int,
        default=None,
        metavar="N",
        help="CELERY_DB_REUSE_MAX for the worker (default: the project's, 1000; 0 makes Celery's "
        "Django fixup close the database connection after every task)",
    )
    add_service_arguments(parser, "pls_bench_outbox", fresh=False)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait per phase")
    args = parser.parse_args()
    check_database_arguments(parser, args)
    return args


def main() -> int:
    args = parse_args()
    with services(args, "outbox") as (env, _):
        if args.max_count:
            env["PLS_NOTIFY_MAX_COUNT"] = str(args.max_count)
        if args.reuse_db_connections is not None:
            env["CELERY_DB_REUSE_MAX"] = str(args.reuse_db_connections)
        setup_django(env)
        from notifications.models import Channel, OwnerReport

        sink = Sink()
        threading.Thread(target=sink.serve_forever, daemon=True).start()
        # Each run starts from an empty outbox in the bench's own database.
        OwnerReport.objects.all().delete()
        Channel.objects.all().delete()
        names = [f"bench-sink-{n}" for n in range(args.channels)]
        for name in names:
            Channel.objects.create(
                name=name, kind="webhook", url=f"{sink.url}/{name}", signing_secret="bench"
            )

        log = log_path("outbox", "worker.log")
        phases: list[Phase] = []
        with celery_worker(env, log, pool=args.pool, concurrency=args.concurrency) as worker:
            # Warm-up: the pool processes import, connect and open their HTTP sessions.
            warm = Phase("warm-up")
            enqueue(warm, 40 * args.channels, names, args.enqueuers, None)
            wait_for_delivery(warm, sink, args.timeout)

            for phase, count, rate in (
                (Phase("burst"), args.reports, None),
                (Phase("paced"), args.paced_reports, args.rate),
            ):
                pids = process_tree(worker.pid)
                cpu_before = Cpu.now(pids)
                enqueue(phase, count, names, args.enqueuers, rate)
                wait_for_delivery(phase, sink, args.timeout)
                phase.cpu = Cpu.now(pids) - cpu_before
                phases.append(phase)
        sink.shutdown()

    result = report(args, sink, phases, log)
    report_result("outbox", result)
    return 0 if result["missing"] == 0 and result["repeats"] == 0 else 1


def report(args: argparse.Namespace, sink: Sink, phases: list[Phase], log_path: Path) -> dict:
    reuse = (
        "project default"
        if args.reuse_db_connections is None
        else args.reuse_db_connections or "0 (close after every task)"
    )
    print(
        f"One Celery worker (--pool {args.pool} --concurrency {args.concurrency}), "
        f"{args.channels} webhook channel(s), Redis broker, PostgreSQL, max_count "
        f"{args.max_count or 'default'}, CELERY_DB_REUSE_MAX {reuse}; "
        f"sink connections opened: {sink.connections} (keep-alive)."
    )
    result: dict = {
        "pool": args.pool,
        "concurrency": args.concurrency,
        "channels": args.channels,
        "db_reuse_max": args.reuse_db_connections,
    }
    missing = repeats = 0
    disturbed = False
    for phase in phases:
        delays = phase.delays(sink)
        lost = len(phase.enqueued_at) - len(delays)
        missing += lost
        repeats += sum(sink.repeats[pk] for pk in phase.enqueued_at)
        per_second = phase.delivered_per_second(sink)
        cpu = phase.cpu.per(len(phase.enqueued_at))
        disturbed = disturbed or phase.cpu.disturbed
        print(
            f"{phase.name:6}: {len(delays)}/{len(phase.enqueued_at)} delivered, "
            f"{per_second:6.0f} reports/s delivered, "
            f"enqueued at {len(phase.enqueued_at) / phase.enqueue_seconds:6.0f}/s; "
            f"enqueue->delivery p50 {percentile_ms(delays, 50):7.1f} ms, "
            f"p99 {percentile_ms(delays, 99):7.1f} ms; CPU per report: worker "
            f"{cpu['server']:.2f} ms, PostgreSQL {cpu['postgres']:.2f} ms, enqueuers and sink "
            f"{cpu['client']:.2f} ms, other processes {cpu['other']:.2f} ms"
        )
        result[f"{phase.name}_per_second"] = round(per_second)
        result[f"{phase.name}_p50_ms"] = round(percentile_ms(delays, 50), 1)
        result[f"{phase.name}_p99_ms"] = round(percentile_ms(delays, 99), 1)
        result[f"{phase.name}_cpu_ms"] = {key: round(value, 2) for key, value in cpu.items()}
    burst = result.get("burst_per_second", 0)
    verdict = "met" if burst >= TARGET_PER_SECOND else "MISSED"
    print(f"Target >= {TARGET_PER_SECOND} reports/s: {verdict} ({burst}/s).")
    if missing or repeats:
        print(f"WARNING: {missing} report(s) not delivered, {repeats} delivered more than once.")
    if disturbed:
        print("WARNING: other processes used over 10% of the CPU: these figures are disturbed.")
    print(f"Worker log: {log_path}")
    result.update(
        missing=missing,
        repeats=repeats,
        connections=sink.connections,
        disturbed=disturbed,
        target_met=burst >= TARGET_PER_SECOND and not missing and not repeats,
    )
    return result


if __name__ == "__main__":
    sys.exit(main())
