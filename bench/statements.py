"""What each hand-written statement of repairs/postgres.py saves over its ORM twin, in CPU
per call (this process plus its PostgreSQL backend), on a database shaped like ingest's.

    .venv/bin/python bench/statements.py --fresh [--calls 400] [--rounds 5]

``make bench`` measures the statements inside the whole request, where on a busy machine a
few percent drown in the noise; CPU time per call is far steadier. Each statement and its
twin run in alternating rounds (the median round counts), each call in its own transaction
as on the request path. The saving is then set against the CPU one ingest event or one
claim costs (``--ingest-cpu-ms``, ``--claim-cpu-ms``: gunicorn plus PostgreSQL per event in
the last ``make bench``): on a CPU-bound machine that share is the throughput the statement
pays for. The rule (README, Performance) keeps a statement that pays at least 5 %.
"""

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    add_service_arguments,
    check_database_arguments,
    cpu_seconds,
    report_result,
    services,
    setup_django,
)

EVENTS = 20_000
FINGERPRINTS = 200
WORKERS = 16


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_service_arguments(parser, "pls_bench_statements", fresh=True)
    parser.add_argument("--calls", type=int, default=400, help="calls per round and side")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ingest-cpu-ms", type=float, default=6.15, help="per ingest event")
    parser.add_argument("--claim-cpu-ms", type=float, default=3.2, help="per claim")
    args = parser.parse_args()
    check_database_arguments(parser, args)
    with services(args, "statements", redis=False) as (env, _folder):
        setup_django(env)
        pairs = _pairs(claims=2 * (args.calls * args.rounds + 50))
        rows = {}
        for name, (per, statement, twin) in pairs.items():
            raw, orm = _alternate(statement, twin, calls=args.calls, rounds=args.rounds)
            base = args.ingest_cpu_ms if per == "ingest" else args.claim_cpu_ms
            saved = orm - raw
            rows[name] = {
                "per": per,
                "statement_us": round(raw),
                "twin_us": round(orm),
                "saved_us": round(saved),
                # Throughput the statement pays for on a machine whose cores are the limit: with
                # the twin an event costs ``saved`` more than the ``base`` it costs now.
                "pays_pct": round(100 * saved / (base * 1000), 1),
            }
            print(
                f"{name:18} {raw:8.0f} µs  twin {orm:8.0f} µs  saves {saved:7.0f} µs "
                f"= {rows[name]['pays_pct']:5.1f} % of {per} throughput",
                flush=True,
            )
        report_result("statements", rows)


def _alternate(
    statement: Callable[[], object], twin: Callable[[], object], *, calls: int, rounds: int
) -> tuple[float, float]:
    """CPU µs per call of each side (this process and its backend), the median of rounds
    taken in turn so that a disturbance hits both alike."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    for side in (statement, twin):  # warm both: caches, prepared plans, compiled queries
        for _ in range(20):
            side()
    per_call: dict[Callable, list[tuple[float, float, float]]] = {statement: [], twin: []}
    for _ in range(rounds):
        for side in (statement, twin):
            python, database = time.process_time(), cpu_seconds([backend])
            for _ in range(calls):
                side()
            python = (time.process_time() - python) / calls * 1e6
            database = (cpu_seconds([backend]) - database) / calls * 1e6
            per_call[side].append((python + database, python, database))
    raw, raw_py, raw_db = _median_round(per_call[statement])
    orm, orm_py, orm_db = _median_round(per_call[twin])
    print(
        f"  Python / PostgreSQL µs: statement {raw_py:.0f} / {raw_db:.0f}, "
        f"twin {orm_py:.0f} / {orm_db:.0f}"
    )
    return raw, orm


def _median_round(rounds: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """The round (total, Python, PostgreSQL µs per call) whose total is the median."""
    middle = statistics.median(total for total, _, _ in rounds)
    return min(rounds, key=lambda spent: abs(spent[0] - middle))


def _pairs(*, claims: int) -> dict[str, tuple[str, Callable[[], object], Callable[[], object]]]:
    """Each statement and its twin as calls without arguments, on data made here."""
    import itertools

    from django.db import transaction
    from django.utils import timezone

    from policies import ladder
    from repairs import postgres
    from repairs.evidence import fingerprint
    from repairs.models import Job, RepairEvent, RepeatTally, Worker
    from repairs.services import worker_register, worker_token_issue
    from repairs.services.events import repair_event_report_by_orm
    from repairs.services.jobs import job_claim_next_by_orm
    from repairs.services.workers import _digest, worker_token_find_by_orm

    now = timezone.now()
    workers = [
        worker_register(Worker(name=f"statements-w{n}", team="bench")) for n in range(WORKERS)
    ]
    digests = [_digest(worker_token_issue(worker=worker)[1]) for worker in workers]
    prints = [fingerprint("bench_error", f"message {n}") for n in range(FINGERPRINTS)]
    RepairEvent.objects.bulk_create(
        [
            RepairEvent(
                worker=workers[n % WORKERS],
                job_ref=f"JOB-{n % 500}",
                gate="stuck_claim",
                error_class="bench_error",
                fingerprint=prints[n % FINGERPRINTS],
                action="retry",
                decision=ladder.ALLOWED,
                occurred_at=now - timedelta(seconds=n),
            )
            for n in range(EVENTS)
        ],
        batch_size=2000,
    )
    Job.objects.bulk_create(
        [Job(external_id=f"JOB-{n}", title="bench job") for n in range(500)]
        + [Job(external_id=f"Q-{n}", title="bench job", priority="medium") for n in range(claims)],
        batch_size=2000,
    )
    turn = itertools.count()

    def report(run: Callable[..., object]) -> Callable[[], object]:
        def call() -> object:
            n = next(turn)
            moment = timezone.now()
            event = RepairEvent(
                worker=workers[n % WORKERS],
                job_ref=f"JOB-{n % 500}",
                gate="stuck_claim",
                error_class="bench_error",
                fingerprint=prints[n % FINGERPRINTS],
                action="retry",
                occurred_at=moment,
            )
            tally = RepeatTally.of(
                event.fingerprint,
                window=timedelta(hours=1),
                buckets=60,
                occurred_at=moment,
                now=moment,
                threshold=2,
                worker=event.worker.name,
            )
            verdicts = [{"decision": ladder.NEEDS_APPROVAL}, {"decision": ladder.ALLOWED}]
            with transaction.atomic():
                return run(event, tally=tally, budget=1, verdicts=verdicts)

        return call

    def token(find: Callable[[str], object]) -> Callable[[], object]:
        return lambda: find(digests[next(turn) % WORKERS])

    def claim_next(by_statement: bool) -> Callable[[], object]:
        def call() -> object:
            worker, moment = workers[next(turn) % WORKERS], timezone.now()
            if by_statement:
                return postgres.job_claim_next(
                    worker_id=worker.pk, now=moment, lease_expires_at=moment + timedelta(minutes=15)
                )
            return job_claim_next_by_orm(worker, moment)

        return call

    return {
        "report (budget, repeat count, proposal, insert)": (
            "ingest",
            report(postgres.repair_event_report),
            report(repair_event_report_by_orm),
        ),
        "token lookup": (
            "ingest",
            token(postgres.worker_token_find),
            token(worker_token_find_by_orm),
        ),
        "claim-next": ("claims", claim_next(True), claim_next(False)),
    }


if __name__ == "__main__":
    main()
