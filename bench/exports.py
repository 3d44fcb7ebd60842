"""How fast an export streams, and in how much memory: GET /api/v1/worker-repair-events as
NDJSON and as CSV over 200,000 events in PostgreSQL.

    .venv/bin/python bench/exports.py [--events 200000] [--no-memory] [--fresh]

Runs on PostgreSQL at BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/pls_bench_exports; created and migrated if need be; never
DATABASE_URL). The first run loads the events with INSERT ... SELECT FROM generate_series,
each with a message and about 500 bytes of evidence; later runs reuse them.

It then exports them, in this process through Django's test client (server time, no
network), as a viewer: each format once to warm up and once timed, reading the stream to its
end. Figures: rows/s and MiB/s per format, and (unless --no-memory) the peak of Python's
allocations while one NDJSON export streams, measured by tracemalloc in a third pass (which
tracemalloc itself slows down). The target is a constant memory bound: < 32 MiB whatever
the number of rows, the figure tests/exports/test_export_memory.py holds.

It prints the figures and a RESULT line for scripts; the JSON goes to bench/results/.
"""

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    add_database_argument,
    check_database_arguments,
    manage,
    prepare_database,
    product_env,
    report_result,
    setup_django,
)

PEAK_TARGET_MIB = 32


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument(
        "--no-memory", action="store_true", help="skip the tracemalloc pass (it is slow)"
    )
    add_database_argument(parser, "pls_bench_exports", fresh=True)
    args = parser.parse_args()
    check_database_arguments(parser, args)
    return args


def load(count: int) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import transaction

    from bench.console import insert_select
    from repairs.models import RepairEvent, Worker
    from repairs.services import worker_register

    with transaction.atomic():
        viewer, _ = get_user_model().objects.get_or_create(
            username="bench-viewer", defaults={"is_staff": True}
        )
        viewer.groups.add(Group.objects.get(name="ops_viewer"))
        worker = Worker.objects.filter(name="bench-export").first() or worker_register(
            Worker(name="bench-export", team="alpha")
        )
        missing = count - RepairEvent.objects.count()
        insert_select(
            RepairEvent,
            {
                "worker_id": str(worker.pk),
                "job_ref": "'BENCH-' || mod(g, 500)",
                "gate": "'stuck_claim'",
                "error_class": "'context_fetch_failed'",
                "fingerprint": "md5(mod(g, 97)::text)",
                "phase": "'context'",
                "action": "'retry'",
                "decision": "'allowed'",
                "verdict": """'{"decision": "allowed", "action": "retry", "rung": "L1"}'::jsonb""",
                "message": "'GET /jobs/BENCH-' || mod(g, 500) || '/context failed: 503'",
                "evidence": "repeat('curl: (22) The requested URL returned error: 503; ', 8)",
                "occurred_at": "now() - g * interval '1 second'",
                "received_at": "now() - g * interval '1 second'",
            },
            "generate_series(1, %s) AS g",
            [missing],
        )


def export(client, fmt: str) -> tuple[int, int, float]:
    """Rows and bytes of one export, and its seconds."""
    started = time.perf_counter()
    response = client.get("/api/v1/worker-repair-events", {"format": fmt})
    assert response.status_code == 200, response.status_code
    lines = size = 0
    for chunk in response.streaming_content:
        lines += chunk.count(b"\n")
        size += len(chunk)
    return lines - (fmt == "csv"), size, time.perf_counter() - started


def main() -> int:
    args = parse_args()
    prepare_database(args.database_url, fresh=args.fresh)
    var = Path(tempfile.mkdtemp(prefix="pls-bench-exports-"))
    (var / "static").mkdir()  # whitenoise looks for it; the test client never serves from it
    env = {**product_env(args.database_url, var_dir=var), "ALLOWED_HOSTS": "testserver"}
    manage(env, "migrate", "--noinput", "-v", "0")
    setup_django(env)

    from django.contrib.auth import get_user_model
    from django.test import Client

    from repairs.models import RepairEvent

    if RepairEvent.objects.count() < args.events:
        started = time.perf_counter()
        load(args.events)
        print(f"loaded {args.events} events in {time.perf_counter() - started:.1f} s")
    events = RepairEvent.objects.count()
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-viewer"))

    result: dict[str, object] = {"events": events}
    for fmt in ("ndjson", "csv"):
        export(client, fmt)  # warm-up: the table in PostgreSQL's cache, the code paths loaded
        rows, size, seconds = export(client, fmt)
        if rows != events:
            print(f"FAILED: {fmt} export held {rows} rows of {events}")
            return 1
        result[f"{fmt}_rows_per_s"] = round(rows / seconds)
        result[f"{fmt}_mib_per_s"] = round(size / seconds / 2**20, 1)
        result[f"{fmt}_mib"] = round(size / 2**20)
        print(
            f"{fmt}: {rows} rows, {size / 2**20:.0f} MiB in {seconds:.1f} s: "
            f"{rows / seconds:,.0f} rows/s, {size / seconds / 2**20:.1f} MiB/s"
        )
    if not args.no_memory:
        tracemalloc.start()
        try:
            export(client, "ndjson")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        result["peak_mib"] = round(peak / 2**20, 1)
        result["target_met"] = peak / 2**20 < PEAK_TARGET_MIB
        print(f"peak Python allocations while streaming NDJSON: {peak / 2**20:.1f} MiB")
    report_result("exports", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
