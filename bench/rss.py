"""Peak memory (RSS) of one gunicorn web worker serving 100,000 mixed API requests.

    .venv/bin/python bench/rss.py [--requests 100000] [--clients 16]

Starts gunicorn with config/gunicorn.conf.py, but ONE worker process (with the configured
threads), so that one worker serves every request, on PostgreSQL at BENCH_DATABASE_URL
(default postgres://postgres@127.0.0.1:5432/pls_bench_rss; created and migrated if need be)
with Redis as the cache (a redis-server of its own, or --redis-url). It registers --clients
workers with a token each and a queue of open jobs, and each client thread sends, on its own
keep-alive connection, the requests a working fleet sends, in this mix:

    40 %  POST /api/v1/worker-repair-events (with an action: a verdict each)
    15 %  POST /api/v1/jobs/claim-next
    15 %  POST /api/v1/jobs/{held}/heartbeat (GET /api/v1/workers/me while holding none)
    10 %  GET  /api/v1/worker-repair-events?limit=20
    10 %  GET  /api/v1/worker-policy/current
     5 %  GET  /api/v1/jobs/{held} (GET /api/v1/workers/me while holding none)
     5 %  GET  /api/v1/workers/me

The worker's resident set size is read from /proc/<pid>/status every --sample seconds, and its
high-water mark (VmHWM, the kernel's own peak) at the end. The figure is the peak; the RSS
after the warm-up and the growth over the second half of the run show whether it levels off
(a leak keeps growing). The target is < 200 MiB (issue 7).
"""

import argparse
import http.client
import itertools
import json
import secrets
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    HOST,
    add_service_arguments,
    apply_gunicorn_arguments,
    check_database_arguments,
    children,
    describe_gunicorn,
    free_port,
    gunicorn,
    log_path,
    register_fleet,
    report_result,
    run_threads,
    services,
)
from bench.ingest import ingest_body

TARGET_MIB = 200
# One cycle of 20 requests: the mix in the docstring.
MIX = [
    *["event"] * 8,
    *["claim"] * 3,
    *["heartbeat"] * 3,
    *["events"] * 2,
    *["policy"] * 2,
    "job",
    "me",
]


@dataclass
class Samples:
    """(requests answered so far, RSS in KiB) pairs, and what went wrong."""

    points: list[tuple[int, int]] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    answered: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000, help="requests in all")
    parser.add_argument("--clients", type=int, default=16, help="workers, each its own thread")
    parser.add_argument("--warmup", type=int, default=2_000, help="requests before the baseline")
    parser.add_argument("--sample", type=float, default=0.25, help="seconds between RSS reads")
    add_service_arguments(parser, "pls_bench_rss", fresh=True)
    parser.add_argument("--threads", type=int, help="sets GUNICORN_THREADS")
    args = parser.parse_args()
    check_database_arguments(parser, args)
    args.gunicorn_workers = 1  # one process serves every request: its RSS is the figure
    return args


def status_kib(pid: int, key: str) -> int:
    """A field of /proc/<pid>/status in KiB (VmRSS, VmHWM), or 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def drive(port: int, tokens: list[str], requests: int, samples: Samples) -> float:
    """Every client sends its share of the mix until ``requests`` have been sent."""
    numbers = itertools.count()

    def client(token: str) -> None:
        auth = {"Authorization": f"Bearer {token}"}
        post = {**auth, "Content-Type": "application/json"}
        held: str | None = None
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            while (n := next(numbers)) < requests:
                kind = MIX[n % len(MIX)]
                if kind in ("heartbeat", "job") and held is None:
                    kind = "me"
                if kind == "event":
                    request = ("POST", "/api/v1/worker-repair-events", ingest_body(n), post)
                elif kind == "claim":
                    request = ("POST", "/api/v1/jobs/claim-next", b"", post)
                elif kind == "heartbeat":
                    body = json.dumps({"progress": f"step {n}"}).encode()
                    request = ("POST", f"/api/v1/jobs/{held}/heartbeat", body, post)
                elif kind == "events":
                    request = ("GET", "/api/v1/worker-repair-events?limit=20", None, auth)
                elif kind == "policy":
                    request = ("GET", "/api/v1/worker-policy/current", None, auth)
                elif kind == "job":
                    request = ("GET", f"/api/v1/jobs/{held}", None, auth)
                else:
                    request = ("GET", "/api/v1/workers/me", None, auth)
                method, path, body, headers = request
                try:
                    conn.request(method, path, body=body, headers=headers)
                    response = conn.getresponse()
                    payload = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    with samples.lock:
                        samples.statuses[f"{kind}: {type(exc).__name__}"] += 1
                    continue
                if kind == "claim" and response.status == 200:
                    held = json.loads(payload)["external_id"]
                with samples.lock:
                    samples.answered += 1
                    if response.status >= 300:
                        samples.statuses[f"{kind}: HTTP {response.status}"] += 1
        finally:
            conn.close()

    return run_threads(client, [(token,) for token in tokens])


def sample_rss(pid: int, samples: Samples, every: float, done: threading.Event) -> None:
    while not done.wait(every):
        samples.points.append((samples.answered, status_kib(pid, "VmRSS")))


def mib(kib: float) -> float:
    return kib / 1024


def main() -> int:
    args = parse_args()
    settings = apply_gunicorn_arguments(args)
    jobs = args.requests * MIX.count("claim") // len(MIX) + 1000

    with services(args, "rss") as (env, tmp):
        run_id = f"bench-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        tokens = register_fleet(env, run_id, workers=args.clients, jobs=jobs)

        log = log_path("rss")
        port = free_port()
        with gunicorn(
            {**env, "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics")}, port, log
        ) as server:
            (worker,) = children(server.pid)
            warm = Samples()
            drive(port, tokens, args.warmup, warm)
            baseline = status_kib(worker, "VmRSS")
            samples = Samples(points=[(0, baseline)])
            done = threading.Event()
            sampler = threading.Thread(
                target=sample_rss, args=(worker, samples, args.sample, done), daemon=True
            )
            sampler.start()
            wall = drive(port, tokens, args.requests - args.warmup, samples)
            done.set()
            sampler.join()
            end = status_kib(worker, "VmRSS")
            high_water = status_kib(worker, "VmHWM")
            same_worker = children(server.pid) == [worker]
        samples.points.append((samples.answered, end))

    served = warm.answered + samples.answered
    peak = max(max(rss for _, rss in samples.points), high_water)
    half = [rss for answered, rss in samples.points if answered >= samples.answered / 2]
    growth = (half[-1] - half[0]) if len(half) > 1 else 0
    failures = warm.statuses + samples.statuses
    print(describe_gunicorn(settings) + " (one worker, so it serves every request)")
    print(
        f"load: {args.clients} workers with a token each, {served} requests answered in "
        f"{wall:.0f} s after a warm-up of {warm.answered} ({samples.answered / wall:.0f}/s): "
        "40 % events, 15 % claim-next, 15 % heartbeats, 30 % reads"
    )
    print(
        f"web worker RSS: {mib(baseline):.0f} MiB after the warm-up, {mib(end):.0f} MiB at the "
        f"end; peak {mib(peak):.0f} MiB (VmHWM {mib(high_water):.0f} MiB); second half of the "
        f"run {mib(growth):+.1f} MiB; target < {TARGET_MIB} MiB: "
        + ("met" if mib(peak) < TARGET_MIB else "MISSED")
    )
    if not same_worker:
        print("WARNING: gunicorn replaced its worker during the run: the figure is not one's.")
    for reason, count in failures.most_common():
        print(f"    {count} x {reason}")
    print(f"gunicorn log: {log}")
    result = {
        "requests": served,
        "per_s": round(samples.answered / wall) if wall else 0,
        "baseline_mib": round(mib(baseline), 1),
        "end_mib": round(mib(end), 1),
        "peak_mib": round(mib(peak), 1),
        "vmhwm_mib": round(mib(high_water), 1),
        "second_half_growth_mib": round(mib(growth), 1),
        "non_2xx": sum(failures.values()),
        "same_worker": same_worker,
        "gunicorn": settings,
        "target_met": mib(peak) < TARGET_MIB and same_worker,
    }
    report_result("rss", result)
    return 0 if same_worker and not failures else 1


if __name__ == "__main__":
    sys.exit(main())
