"""Tool-call verdicts under load, against the framework's own ceiling.

    .venv/bin/python bench/verdicts.py [--requests 3000] [--clients 16] [--rate 100] [--fresh]

Starts gunicorn with config/gunicorn.conf.py on a free 127.0.0.1 port against PostgreSQL at
BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/pls_bench_verdicts; created
and migrated if need be) and Redis as the cache, registers --clients workers, and drives
``POST /api/v1/tool-verdicts`` with one keep-alive connection and token per worker, every
request with an Idempotency-Key as the ``pls`` hooks send it. Then the same against
``POST /bench/bare-repair-events`` (bench/bare.py: one row through the same middleware,
without DRF, authentication or validation). Both run twice: flat out (verdicts/s, p50, p99)
and paced at --rate requests/s spread over the clients (p50 and p99: what an agent waits
before each tool call).

The calls mix what agents send: reads and tests (allowed), a force push and a protected
restart (denied) and a risky restart per worker (needs approval: the first opens a
self-heal request, the rest find it pending). The per-worker rate limit is off, as in
bench/ingest.py: the bench measures the product, not the throttle.

The load comes from threads in this process and shares the machine's cores with gunicorn
and PostgreSQL, so the figures are a floor for a server with cores of its own.
"""

import argparse
import json
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ROOT,
    Run,
    add_gunicorn_arguments,
    add_service_arguments,
    apply_gunicorn_arguments,
    check_database_arguments,
    describe_gunicorn,
    measure,
    percentile_ms,
    register_fleet,
    report_result,
    services,
)
from bench.ingest import BARE_PATH, ingest_body, serve

VERDICTS_PATH = "/api/v1/tool-verdicts"
TARGET_RATIO = 0.6
TARGET_PACED_P99_MS = 50.0

CALLS = [
    ("Bash", {"command": "ls -la"}),
    ("Read", {"file_path": "/srv/app/README.md"}),
    ("Bash", {"command": "npm test"}),
    ("Grep", {"pattern": "TODO", "path": "/srv/app"}),
    ("Bash", {"command": "git status"}),
    ("Bash", {"command": "git push --force origin main"}),
    ("Bash", {"command": "docker restart momo-db"}),
    ("Bash", {"command": "docker restart web-1"}),
]


def verdict_body(i: int) -> bytes:
    tool_name, tool_input = CALLS[i % len(CALLS)]
    return json.dumps(
        {
            "tool_name": tool_name,
            "tool_input": tool_input,
            "agent": "claude_code",
            "session_id": "bench-session",
            "tool_use_id": f"toolu_{i}",
            "cwd": "/srv/app",
        }
    ).encode()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="measured requests per run")
    parser.add_argument("--clients", type=int, default=16, help="concurrent workers")
    parser.add_argument("--rate", type=float, default=100.0, help="paced requests per second")
    parser.add_argument("--paced-requests", type=int, default=1500, help="requests per paced run")
    parser.add_argument("--duration", type=float, default=60.0, help="upper bound per run, s")
    parser.add_argument("--warmup", type=int, default=300, help="unmeasured requests per target")
    add_service_arguments(parser, "pls_bench_verdicts", fresh=True)
    add_gunicorn_arguments(parser, workers_flag="--workers")
    args = parser.parse_args()
    if args.requests < 2 or args.clients < 1 or args.rate <= 0:
        parser.error("need --requests >= 2, --clients >= 1 and --rate > 0")
    check_database_arguments(parser, args)
    return args


def measure_verdicts(
    name: str,
    path: str,
    port: int,
    master: int,
    headers: list[dict[str, str]],
    args: argparse.Namespace,
    *,
    first: int,
    rate: float | None = None,
) -> Run:
    """Tool verdicts (or bare-view rows): flat out after a warm-up, or paced at ``rate``;
    every request keyed, as the hooks send them."""
    body, ok = (verdict_body, 200) if path == VERDICTS_PATH else (ingest_body, 201)
    requests = args.paced_requests if rate else args.requests
    run_key = name.replace(" ", "-")
    return measure(
        Run(name, path), port, master, headers, body, ok=ok, requests=requests,
        warmup=0 if rate else args.warmup, first=first,
        duration=args.duration + requests / (rate or 1e9), database_url=args.database_url,
        rate=rate, key=lambda i: f"bench-{run_key}-{i}",
    )  # fmt: skip


def report(runs: dict[str, Run], settings: dict[str, object], args: argparse.Namespace) -> dict:
    verdicts, bare = runs["verdicts"], runs["bare"]
    paced, bare_paced = runs["verdicts paced"], runs["bare paced"]
    ratio = verdicts.per_second / bare.per_second if bare.per_second else 0.0
    print(describe_gunicorn(settings))
    print(
        f"load: {args.clients} workers, each a client thread with its own token and keep-alive "
        f"connection; {args.requests} requests flat out after {args.warmup} warm-up, then "
        f"{args.paced_requests} paced at {args.rate:.0f}/s"
    )
    print()
    print(f"{'run':<16}{'path':<28}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'ok':>7}{'failed':>7}")
    for name, run in runs.items():
        print(
            f"{name:<16}{run.path:<28}{run.per_second:>8.0f}"
            f"{percentile_ms(run.latencies, 50):>8.1f}{percentile_ms(run.latencies, 99):>8.1f}"
            f"{len(run.latencies):>7}{sum(run.failures.values()):>7}"
        )
        for reason, count in run.failures.most_common():
            print(f"    {count} x {reason}")
    paced_p99 = percentile_ms(paced.latencies, 99)
    print(
        f"ratio verdicts/bare: {ratio:.2f} (target >= {TARGET_RATIO}); paced p99 "
        f"{paced_p99:.1f} ms (target <= {TARGET_PACED_P99_MS:.0f} ms)"
    )
    print()
    print("CPU per request, ms (gunicorn / PostgreSQL), flat out:")
    for name in ("verdicts", "bare"):
        cpu = runs[name].cpu_ms()
        print(f"  {name:<9}{cpu['server']:>7.2f} / {cpu['postgres']:.2f}")
    disturbed = any(run.cpu.disturbed for run in runs.values())
    if disturbed:
        print("WARNING: other processes used over 10% of the CPU: these figures are disturbed.")
    return {
        "verdicts_per_s": round(verdicts.per_second),
        "verdicts_p50_ms": round(percentile_ms(verdicts.latencies, 50), 1),
        "verdicts_p99_ms": round(percentile_ms(verdicts.latencies, 99), 1),
        "bare_per_s": round(bare.per_second),
        "ratio": round(ratio, 2),
        "paced_rate": args.rate,
        "paced_p50_ms": round(percentile_ms(paced.latencies, 50), 1),
        "paced_p99_ms": round(paced_p99, 1),
        "bare_paced_p50_ms": round(percentile_ms(bare_paced.latencies, 50), 1),
        "bare_paced_p99_ms": round(percentile_ms(bare_paced.latencies, 99), 1),
        "verdicts_cpu_ms": {k: round(v, 2) for k, v in verdicts.cpu_ms().items()},
        "bare_cpu_ms": {k: round(v, 2) for k, v in bare.cpu_ms().items()},
        "clients": args.clients,
        "gunicorn": settings,
        "failed": sum(sum(run.failures.values()) for run in runs.values()),
        "disturbed": disturbed,
        "target_met": ratio >= TARGET_RATIO and paced_p99 <= TARGET_PACED_P99_MS,
    }


def main() -> int:
    args = parse_args()
    settings = apply_gunicorn_arguments(args)
    with services(args, "verdicts", settings="bench.settings") as (env, tmp):
        run_id = f"bench-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        tokens = register_fleet(env, run_id, workers=args.clients)
        json_headers = {"Content-Type": "application/json"}
        workers = [{**json_headers, "Authorization": f"Bearer {token}"} for token in tokens]
        env["BENCH_WORKER"] = f"{run_id}-w0"
        runs: dict[str, Run] = {}
        first = 0
        with serve(env, tmp, "verdicts") as (master, port, log):
            for name, path, headers, rate in (
                ("verdicts", VERDICTS_PATH, workers, None),
                ("bare", BARE_PATH, [json_headers] * args.clients, None),
                ("verdicts paced", VERDICTS_PATH, workers, args.rate),
                ("bare paced", BARE_PATH, [json_headers] * args.clients, args.rate),
            ):
                runs[name] = measure_verdicts(
                    name, path, port, master, headers, args, first=first, rate=rate
                )
                first += args.warmup + args.requests
    result = report(runs, settings, args)
    print(f"gunicorn log: {log.relative_to(ROOT)}")
    report_result("verdicts", result)
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
