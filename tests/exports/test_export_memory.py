"""An export streams in constant memory: 200,000 events go out while the process holds a
few chunks of them at a time, not the whole file."""

import time
import tracemalloc

import pytest
from django.db import connection
from django.utils import timezone

from repairs.models import RepairEvent

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

EVENTS = 200_000
# Five chunks of 500 events' rendering and more is far below the 140+ MB the file holds.
PEAK_BOUND = 32 * 1024 * 1024


def load(worker, count: int) -> None:
    """``count`` events: an eighth made with ``bulk_create``, then doubled three times in
    the database (INSERT ... SELECT), which takes seconds where Python would take minutes."""
    now = timezone.now()
    made = count // 8
    for start in range(0, made, 5000):
        RepairEvent.objects.bulk_create(
            RepairEvent(
                worker=worker,
                job_ref=f"JOB-{n % 500}",
                gate="stuck_claim",
                error_class="context_fetch_failed",
                fingerprint=f"{n % 97:064x}",
                phase="context",
                action="retry",
                message=f"GET /jobs/JOB-{n % 500}/context failed: 503 (attempt {n})",
                evidence="curl: (22) The requested URL returned error: 503\n" * 8,
                verdict={"decision": "allowed", "action": "retry", "rung": "L1"},
                decision="allowed",
                occurred_at=now,
            )
            for n in range(start, min(start + 5000, made))
        )
    columns = ", ".join(
        connection.ops.quote_name(field.column)
        for field in RepairEvent._meta.concrete_fields
        if not field.primary_key
    )
    table = RepairEvent._meta.db_table
    with connection.cursor() as cursor:
        for _ in range(3):
            cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table}")  # noqa: S608
    assert RepairEvent.objects.count() == made * 8


def test_exporting_200000_events_holds_memory_bounded(session_client, viewer, worker):
    load(worker, EVENTS)
    api = session_client(viewer)

    tracemalloc.start()
    try:
        started = time.monotonic()
        response = api.get("/api/v1/worker-repair-events", {"format": "ndjson"})
        lines = size = 0
        for chunk in response.streaming_content:
            lines += chunk.count(b"\n")
            size += len(chunk)
        seconds = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert lines == EVENTS
    assert size > 100 * 1024 * 1024
    assert peak < PEAK_BOUND, f"peak {peak / 2**20:.1f} MiB for {size / 2**20:.0f} MiB out"
    print(
        f"\n{EVENTS} events, {size / 2**20:.0f} MiB in {seconds:.1f} s, peak {peak / 2**20:.1f} MiB"
    )
