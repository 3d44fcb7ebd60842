"""Wall time for artifact checks whose URLs each take one second to answer, run by ONE
Celery worker with the threads pool.

    .venv/bin/python bench/artifacts.py [--checks 100] [--uploads 2] [--concurrency 32]

Runs on PostgreSQL at BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/pls_bench_artifacts; created and migrated if need be;
never DATABASE_URL) with a Redis broker: a redis-server of its own on a free port (or
--redis-url). It starts a local threaded HTTP server on 127.0.0.1 that sleeps --delay
seconds (default 1) before answering each request, and ONE ``celery worker -Q artifacts
-P threads -c <concurrency>`` as in production, with 127.0.0.1 on ARTIFACT_ALLOWED_HOSTS.

A worker (a fleet worker, in the product's sense) holding --checks jobs submits one check
per job the way the API does (``artifact_check_submit``, whose commit publishes the task):
a primary URL and --uploads upload files, every one of them slow. The figure is the wall
time from the first submission to the last check's verdict (passed, its repair event
recorded). A warm-up round of fast checks first lets every pool thread open its database
connection.

The server, the worker, PostgreSQL and this script share the machine's cores. A RESULT line
is printed for scripts; the JSON goes to bench/results/ (not committed).
"""

import argparse
import statistics
import sys
import threading
import time
from collections import Counter
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
    process_tree,
    report_result,
    services,
    setup_django,
)

TARGET_SECONDS = 10.0


# --- The slow artifact host ------------------------------------------------------------------


class SlowHost(ThreadingHTTPServer):
    daemon_threads = True
    # Every pool thread of the worker connects at once: a backlog of 5 (the default) would
    # drop SYNs and add the kernel's one-second retransmit to the figure.
    request_queue_size = 1024

    def __init__(self, delay: float) -> None:
        super().__init__((HOST, 0), SlowHandler)
        self.delay = delay
        self.lock = threading.Lock()
        self.requests = 0
        self.in_flight = 0
        self.most_in_flight = 0

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.server_address[1]}{path}"


class SlowHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SlowHost
    BODY = b"<html><body>artifact</body></html>"

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.requests += 1
            self.server.in_flight += 1
            self.server.most_in_flight = max(self.server.most_in_flight, self.server.in_flight)
        try:
            if not self.path.startswith("/fast"):
                time.sleep(self.server.delay)
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(self.BODY)))
            self.end_headers()
            self.wfile.write(self.BODY)
        finally:
            with self.server.lock:
                self.server.in_flight -= 1

    def log_message(self, format: str, *args: object) -> None:
        pass


# --- Submitting and waiting --------------------------------------------------------------------


def submit_checks(fleet_worker, jobs, host: SlowHost, uploads: int, fast: bool) -> list[int]:
    from artifacts.services import artifact_check_submit

    prefix = "/fast" if fast else "/slow"
    ids = []
    for job in jobs:
        check = artifact_check_submit(
            worker=fleet_worker,
            job=job,
            primary_url=host.url(f"{prefix}/{job.external_id}/index.html"),
            upload_files=[
                {"url": host.url(f"{prefix}/{job.external_id}/file-{n}.zip")}
                for n in range(uploads)
            ],
        )
        ids.append(check.pk)
    return ids


def wait_for_verdicts(ids: list[int], timeout: float) -> float:
    """Seconds until every check is final (or the timeout)."""
    from artifacts.models import ArtifactGateCheck

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        open_checks = (
            ArtifactGateCheck.objects.filter(pk__in=ids)
            .exclude(status__in=ArtifactGateCheck.FINAL)
            .count()
        )
        if open_checks == 0:
            break
        time.sleep(0.05)
    return time.monotonic() - started


def held_jobs(fleet_worker, count: int, stamp: str, label: str) -> list:
    from repairs.models import Job
    from repairs.services.jobs import job_claim

    jobs = []
    for n in range(count):
        job = Job.objects.create(external_id=f"BENCH-ART-{stamp}-{label}-{n}", title="bench")
        jobs.append(job_claim(worker=fleet_worker, external_id=job.external_id))
    return jobs


# --- Main --------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=100, help="checks in the measured round")
    parser.add_argument("--uploads", type=int, default=2, help="slow upload URLs per check")
    parser.add_argument("--delay", type=float, default=1.0, help="seconds each URL takes")
    parser.add_argument("--concurrency", type=int, default=32, help="the worker's threads")
    parser.add_argument(
        "--fetch-threads", type=int, default=None, help="ARTIFACT_FETCH_THREADS (default 8)"
    )
    add_service_arguments(parser, "pls_bench_artifacts", fresh=False)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait per round")
    args = parser.parse_args()
    check_database_arguments(parser, args)
    return args


def main() -> int:
    args = parse_args()
    stamp = time.strftime("%Y%m%d-%H%M%S")

    with services(args, "artifacts") as (env, _):
        # The slow host is this machine; in production the list is empty.
        env["ARTIFACT_ALLOWED_HOSTS"] = HOST
        if args.fetch_threads:
            env["ARTIFACT_FETCH_THREADS"] = str(args.fetch_threads)
        setup_django(env)
        from artifacts.models import ArtifactGateCheck
        from config.celery import app
        from core import broker
        from repairs.models import Worker
        from repairs.services import worker_register

        # Anything an earlier, interrupted run left queued would be run first.
        with app.connection_for_write() as connection:
            connection.SimpleQueue("artifacts").clear()
        broker.reset()

        host = SlowHost(args.delay)
        threading.Thread(target=host.serve_forever, daemon=True).start()
        fleet_worker = worker_register(Worker(name=f"bench-artifacts-{stamp}", team="bench"))
        warm_jobs = held_jobs(fleet_worker, args.concurrency, stamp, "warm")
        jobs = held_jobs(fleet_worker, args.checks, stamp, "run")

        log = log_path("artifacts", "worker.log")
        with celery_worker(
            env, log, pool="threads", concurrency=args.concurrency, queues="artifacts"
        ) as worker:
            warm_ids = submit_checks(fleet_worker, warm_jobs, host, args.uploads, fast=True)
            wait_for_verdicts(warm_ids, args.timeout)

            pids = process_tree(worker.pid)
            cpu_before = Cpu.now(pids)
            requests_before = host.requests
            host.most_in_flight = 0
            started = time.monotonic()
            ids = submit_checks(fleet_worker, jobs, host, args.uploads, fast=False)
            submitted = time.monotonic() - started
            wall = submitted + wait_for_verdicts(ids, args.timeout)
            cpu = Cpu.now(pids) - cpu_before
        host.shutdown()

        checks = list(ArtifactGateCheck.objects.filter(pk__in=ids))
        statuses = Counter(check.status for check in checks)
        runs = [
            (check.finished_at - check.started_at).total_seconds()
            for check in checks
            if check.finished_at and check.started_at
        ]
        passed = statuses.get("passed", 0)
        result = {
            "checks": args.checks,
            "urls_per_check": 1 + args.uploads,
            "delay_seconds": args.delay,
            "concurrency": args.concurrency,
            "fetch_threads": args.fetch_threads or 8,
            "wall_seconds": round(wall, 2),
            "submit_seconds": round(submitted, 2),
            "passed": passed,
            "not_passed": args.checks - passed,
            "check_run_p50_s": round(statistics.median(runs), 2) if runs else None,
            "check_run_max_s": round(max(runs), 2) if runs else None,
            "urls_fetched": host.requests - requests_before,
            "most_urls_in_flight": host.most_in_flight,
            "worker_cpu_s": round(cpu.server, 2),
            "postgres_cpu_s": round(cpu.postgres, 2),
            "disturbed": cpu.disturbed,
            "target_met": wall < TARGET_SECONDS and passed == args.checks,
        }

    print(
        f"{args.checks} checks x {1 + args.uploads} URLs, each URL answering after "
        f"{args.delay:g} s; ONE Celery worker (-Q artifacts -P threads -c {args.concurrency}, "
        f"ARTIFACT_FETCH_THREADS {result['fetch_threads']}), Redis broker, PostgreSQL."
    )
    print(
        f"Wall time, first submission to last verdict: {result['wall_seconds']:.2f} s "
        f"(submitting took {result['submit_seconds']:.2f} s); {result['passed']} passed, "
        f"{result['not_passed']} not; one check ran p50 {result['check_run_p50_s']} s, max "
        f"{result['check_run_max_s']} s; at most {result['most_urls_in_flight']} URLs in flight; "
        f"CPU: worker {result['worker_cpu_s']} s, PostgreSQL {result['postgres_cpu_s']} s."
    )
    verdict = "met" if result["target_met"] else "MISSED"
    print(f"Target < {TARGET_SECONDS:g} s for {args.checks} checks: {verdict}.")
    print(f"Worker log: {log}")
    report_result("artifacts", result)
    return 0 if not result["not_passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
