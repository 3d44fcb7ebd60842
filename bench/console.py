"""How fast the console home answers on a large fleet: GET /admin/ as the owner with a million
repair events and ten thousand jobs in PostgreSQL.

    .venv/bin/python bench/console.py [--events 1000000] [--jobs 10000] [--requests 30]

Runs on PostgreSQL at BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/pls_bench_console; created and migrated if need be; never
DATABASE_URL, so a developer's own database is left alone). The first run loads the data with
INSERT ... SELECT FROM generate_series (a million events in well under a minute): 30 days of
events over every gate, self-heal requests (some pending), artifact checks, proposals,
lessons and an outbox of owner reports. Later runs reuse it (--fresh starts again).

It then times, in this process through Django's test client (server time, no network):

- the rollup catching up on the whole table (the first beat runs after a deploy), a steady
  minute's run (a tail of --tail new events) and the hourly rebuild;
- GET /admin/ as a logged-in owner: p50 / p90 / max over --requests requests after warm-up,
  and the number of queries per request, with --tail events in the live tail;
- GET /api/v1/scorecard for 7 and 90 days;
- one GET /admin/ with the rollup emptied (every event counted live), to show what the
  rollup saves.

It prints the figures and a RESULT line for scripts; the JSON goes to bench/results/.
"""

import argparse
import statistics
import sys
import tempfile
import time
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

TARGET_MS = 300
WORKERS = 50

# (gate, error class, action, decision) by event number modulo 20: what a fleet reports.
SHAPES = [
    *[("stuck_claim", "context_fetch_failed", "retry", "allowed")] * 6,
    *[("stuck_claim", "lease_expired", "", "")] * 3,
    ("stuck_claim", "lease_expired", "release", "needs_approval"),
    *[("artifact_guard", "primary_url_404", "retry", "allowed")] * 3,
    *[("artifact_guard", "completion_blocked", "", "")] * 2,
    *[("friction", "rate_limited", "report_friction", "allowed")] * 2,
    ("worker_learning", "flaky_test_quarantined", "", ""),
    ("stuck_claim", "complete_fetch_failed", "touch", "needs_approval"),
    ("artifact_guard", "artifact_check_passed", "", ""),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30, help="measured GET /admin/")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--tail", type=int, default=2_000, help="events newer than the rollup's mark"
    )
    add_database_argument(parser, "pls_bench_console", fresh=True)
    args = parser.parse_args()
    check_database_arguments(parser, args)
    if args.requests < 2:
        parser.error("need --requests >= 2")
    return args


def console_env(url: str) -> dict[str, str]:
    """The product's environment for Django in this process: the test client's host, no
    Redis (the page reads no cache), whitenoise's static folder in place."""
    var = Path(tempfile.mkdtemp(prefix="pls-bench-console-"))
    (var / "static").mkdir()  # whitenoise looks for it; the test client never serves from it
    return {**product_env(url, var_dir=var), "ALLOWED_HOSTS": "testserver"}


# --- Loading ----------------------------------------------------------------------------------


def insert_select(model, columns: dict[str, str], source: str, params: list | None = None) -> int:
    """INSERT INTO model's table SELECT ... FROM ``source``: ``columns`` maps a column to its
    SQL expression; every other column gets the model field's default (or NULL), so the
    bench keeps working when a field is added."""
    from django.db import connection, models

    names, values, args = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key or isinstance(field, models.GeneratedField):
            continue
        names.append(connection.ops.quote_name(field.column))
        if field.column in columns:
            values.append(columns[field.column])
        elif field.null and not field.has_default():
            values.append("NULL")
        else:
            default = field.get_default()
            if isinstance(field, models.DateTimeField | models.DateField) and default in (
                None,
                "",
            ):
                values.append("now()")
                continue
            values.append("%s")
            args.append(field.get_db_prep_save(default, connection))
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(names)}) "  # noqa: S608 - our names
        f"SELECT {', '.join(values)} FROM {source}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*args, *(params or [])])
        return cursor.rowcount


def load(args: argparse.Namespace) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from artifacts.models import ArtifactGateCheck
    from learning.models import LearningMemoryUpdate
    from notifications.models import Channel, OwnerReport
    from policies.models import Proposal
    from repairs.models import Job, RepairEvent, SelfHealRequest, Worker
    from repairs.services import worker_register

    started = time.perf_counter()
    with transaction.atomic():
        owner, _ = get_user_model().objects.get_or_create(
            username="bench-owner", defaults={"is_staff": True}
        )
        owner.groups.add(Group.objects.get(name="pls_owner"))
        for n in range(WORKERS):
            worker_register(
                Worker(
                    name=f"bench-{n}",
                    team=("alpha", "beta", "gamma")[n % 3],
                    monthly_budget_cents=10_000 if n % 4 else 0,
                )
            )
        workers = list(Worker.objects.order_by("pk").values_list("pk", flat=True))
        first_worker = workers[0]
        Worker.objects.filter(pk__in=workers[::7]).update(status="error")
        Worker.objects.filter(pk__in=workers[1::9]).update(status="running")
        insert_select(
            Job,
            {
                "external_id": "'BENCH-' || g",
                "title": "'Bench job ' || g",
                "priority": "(ARRAY['high','medium','low'])[1 + mod(g, 3)]",
                "status": "(ARRAY['open','claimed','completed','completed'])[1 + mod(g, 4)]",
            },
            "generate_series(1, %s) AS g",
            [args.jobs],
        )
        shape = " ".join(
            f"WHEN {n} THEN ARRAY['{gate}','{error_class}','{action}','{decision}']"
            for n, (gate, error_class, action, decision) in enumerate(SHAPES)
        )
        # 30 days back from now, evenly; every fourth action resolved, every seventh failed.
        insert_select(
            RepairEvent,
            {
                "worker_id": f"{first_worker} + mod(g, {WORKERS})",
                "job_ref": f"'BENCH-' || (1 + mod(g, {args.jobs}))",
                "gate": "s[1]",
                "error_class": "s[2]",
                "action": "s[3]",
                "decision": "s[4]",
                "fingerprint": "md5(s[2] || (mod(g, 500))::text)",
                "message": "'bench event ' || g",
                "occurred_at": "at",
                "received_at": "at",
                "outcome": "CASE WHEN mod(g, 4) = 0 THEN 'resolved' "
                "WHEN mod(g, 7) = 0 THEN 'failed' ELSE '' END",
                "resolved_at": "CASE WHEN mod(g, 4) = 0 OR mod(g, 7) = 0 "
                "THEN at + (mod(g, 3600)) * interval '1 second' END",
            },
            f"(SELECT g, CASE mod(g, {len(SHAPES)}) {shape} END AS s, "  # noqa: S608 - constants
            "now() - interval '1 minute' - (%s - g) * (interval '30 days' / %s) AS at "
            "FROM generate_series(1, %s) AS g) AS e",
            [args.events, args.events, args.events],
        )
        # Self-heal requests for 3,000 release events: the newest 40 still pending.
        insert_select(
            SelfHealRequest,
            {
                "event_id": "e.id",
                "worker_id": "e.worker_id",
                "action": "'release'",
                "target": "e.job_ref",
                "approver_role": "'risk_reviewer'",
                "status": "CASE WHEN n <= 40 THEN 'pending' WHEN mod(n, 9) = 0 THEN 'rejected' "
                "WHEN mod(n, 13) = 0 THEN 'expired' ELSE 'approved' END",
                "requested_by_id": "w.user_id",
                "decided_by_id": f"CASE WHEN n > 40 THEN {owner.pk} END",
                "decided_at": "CASE WHEN n > 40 THEN e.occurred_at + n * interval '7 seconds' END",
                "created_at": "e.occurred_at",
                "expires_at": "e.occurred_at + interval '1 day'",
            },
            "(SELECT id, worker_id, job_ref, occurred_at, "
            "row_number() OVER (ORDER BY id DESC) AS n FROM worker_repair_events "
            "WHERE action = 'release' ORDER BY id DESC LIMIT 3000) AS e "
            "JOIN repairs_worker w ON w.id = e.worker_id",
        )
        insert_select(
            ArtifactGateCheck,
            {
                "job_id": "j.id",
                "worker_id": f"{first_worker} + mod(j.id, {WORKERS})",
                "primary_url": "'https://artifacts.example.com/' || j.external_id",
                "status": "(ARRAY['passed','passed','passed','failed','error'])[1 + mod(j.id, 5)]",
                "created_at": "now() - (mod(j.id, 30)) * interval '1 day'",
            },
            "repairs_job AS j",
        )
        insert_select(
            Proposal,
            {
                "kind": "'repair'",
                "status": "(ARRAY['adopted','rejected','deferred'])[1 + mod(g, 3)]",
                "title": "'Bench repair ' || g",
                "fingerprint": "md5('bench-proposal' || g)",
                "occurrences": "g",
            },
            "generate_series(1, 200) AS g",
        )
        insert_select(
            LearningMemoryUpdate,
            {
                "kind": "(ARRAY['repair_lesson','policy_friction','adoption_signal',"
                "'blocking_signal'])[1 + mod(g, 4)]",
                "error_class": "'bench_' || (mod(g, 20))",
                "lesson": "'Bench lesson ' || g",
                "lesson_digest": "md5('bench-lesson' || g)",
                "created_at": "now() - (mod(g, 30)) * interval '1 day'",
            },
            "generate_series(1, 1000) AS g",
        )
        channel = Channel.objects.create(
            name="bench", kind="webhook", url="https://hooks.example.com/x", signing_secret="s"
        )
        insert_select(
            OwnerReport,
            {
                "channel_id": str(channel.pk),
                "state": "(ARRAY['sent','sent','sent','pending'])[1 + mod(g, 4)]",
                "source": "(ARRAY['self_heal.pending','proposal.created','digest.weekly_learning'"
                "])[1 + mod(g, 3)]",
                "title": "'Bench report ' || g",
                "sent_at": "CASE WHEN mod(g, 4) < 3 THEN now() END",
            },
            "generate_series(1, 20000) AS g",
        )
    with connection.cursor() as cursor:
        for table in ("worker_repair_events", "repairs_job", "repairs_selfhealrequest"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    print(
        f"loaded {args.events} events and {args.jobs} jobs in {time.perf_counter() - started:.1f} s"
    )


def add_tail(count: int) -> None:
    """``count`` events reported just now: the live tail past the rollup's mark."""
    from repairs.models import RepairEvent, Worker

    first = Worker.objects.order_by("pk").values_list("pk", flat=True).first()
    insert_select(
        RepairEvent,
        {
            "worker_id": f"{first} + mod(g, {WORKERS})",
            "job_ref": "'BENCH-TAIL-' || g",
            "gate": "'stuck_claim'",
            "error_class": "'context_fetch_failed'",
            "action": "'retry'",
            "decision": "'allowed'",
            "fingerprint": "md5('tail' || g)",
            "occurred_at": "now()",
            "received_at": "now()",
        },
        "generate_series(1, %s) AS g",
        [count],
    )


# --- Timing -----------------------------------------------------------------------------------


def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def percentile(values: list[float], pct: int) -> float:
    """Of milliseconds, in milliseconds."""
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def main() -> int:
    args = parse_args()
    prepare_database(args.database_url, fresh=args.fresh)
    env = console_env(args.database_url)
    manage(env, "migrate", "--noinput", "-v", "0")
    setup_django(env)

    from datetime import timedelta

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.utils import timezone

    from dashboards.models import EventDayCount, OutcomeDayCount, RollupMark
    from dashboards.services import event_rollup_advance, event_rollup_rebuild
    from repairs.models import Job, RepairEvent

    loaded_s = None
    if RepairEvent.objects.count() < args.events:
        started = time.perf_counter()
        load(args)
        loaded_s = time.perf_counter() - started
    events, jobs = RepairEvent.objects.count(), Job.objects.count()
    print(f"database: {args.database_url}: {events} events, {jobs} jobs")

    # The rollup from nothing: what the first beat runs after a deploy do, batch by batch.
    RollupMark.objects.all().delete()
    EventDayCount.objects.all().delete()
    OutcomeDayCount.objects.all().delete()
    later = timezone.now() + timedelta(minutes=5)
    catch_up, runs = 0.0, 0
    while True:
        ms, run = timed(lambda: event_rollup_advance(now=later))
        catch_up += ms
        runs += 1
        if run.events == 0:
            break
    rebuild_ms, _ = timed(event_rollup_rebuild)
    add_tail(args.tail)
    RepairEvent.objects.filter(pk__gt=RollupMark.objects.get().event_id).update(
        received_at=timezone.now() - timedelta(minutes=2)
    )
    steady_ms, steady = timed(event_rollup_advance)
    add_tail(args.tail)  # and a fresh tail the home counts live
    print(
        f"rollup: catch-up of {events} events in {runs} runs: {catch_up / 1000:.1f} s; "
        f"a minute's run ({steady.events} new events, outcomes recomputed): {steady_ms:.0f} ms; "
        f"hourly rebuild: {rebuild_ms / 1000:.1f} s; {EventDayCount.objects.count()} rollup rows"
    )

    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        from django.contrib.auth import get_user_model

        client = Client()
        client.force_login(get_user_model().objects.get(username="bench-owner"))
        for _ in range(args.warmup):
            assert client.get("/admin/").status_code == 200
        latencies, query_counts = [], set()
        for _ in range(args.requests):
            with CaptureQueriesContext(connection) as queries:
                ms, response = timed(lambda: client.get("/admin/"))
            assert response.status_code == 200
            latencies.append(ms)
            query_counts.add(len(queries))
        api = {}
        for days in (7, 90):
            samples = [
                timed(lambda d=days: client.get(f"/api/v1/scorecard?days={d}"))[0]
                for _ in range(10)
            ]
            api[days] = statistics.median(samples)
        tail = RepairEvent.objects.filter(pk__gt=RollupMark.objects.get().event_id).count()
        # For contrast: the home with an empty rollup counts every event live.
        mark = RollupMark.objects.get().event_id
        RollupMark.objects.update(event_id=0)
        unrolled_ms, _ = timed(lambda: client.get("/admin/"))
        RollupMark.objects.update(event_id=mark)

    p50, p90 = percentile(latencies, 50), percentile(latencies, 90)
    print(
        f"GET /admin/ as the owner, {args.requests} requests ({tail} events in the live tail): "
        f"p50 {p50:.0f} ms, p90 {p90:.0f} ms, max {max(latencies):.0f} ms; "
        f"queries per request: {sorted(query_counts)}"
    )
    print(f"GET /api/v1/scorecard: days=7 {api[7]:.0f} ms, days=90 {api[90]:.0f} ms (median of 10)")
    print(
        f"without the rollup (every event counted live): one GET /admin/ took {unrolled_ms:.0f} ms"
    )
    verdict = "under" if p90 < TARGET_MS else "OVER"
    print(f"target: p90 {verdict} {TARGET_MS} ms")
    result = {
        "events": events,
        "jobs": jobs,
        "home_p50_ms": round(p50),
        "home_p90_ms": round(p90),
        "home_max_ms": round(max(latencies)),
        "queries": max(query_counts),
        "api_7d_ms": round(api[7]),
        "api_90d_ms": round(api[90]),
        "unrolled_ms": round(unrolled_ms),
        "rollup_minute_ms": round(steady_ms),
        "rollup_rebuild_s": round(rebuild_ms / 1000, 1),
        "rollup_catch_up_s": round(catch_up / 1000, 1),
        "loaded_s": round(loaded_s, 1) if loaded_s is not None else None,
        "target_met": p90 < TARGET_MS,
    }
    report_result("console", result)
    return 0 if p90 < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
