"""The hand-written PostgreSQL of repairs, behind its services.

Each statement here has an ORM twin in the service that calls it, used on SQLite (and
anywhere this module's statement is not worth its upkeep); tests/repairs/
test_postgres_statements.py runs both on the same data on PostgreSQL and asserts they
answer alike. A statement stays only while it pays at least 5 % of ingest or claim
throughput over its twin, as ``bench/statements.py`` measures it (the figures are in the
README, Benchmarks, "Hand-written SQL"). The advisory lock is the exception: it is there
for correctness, and SQLite needs no twin because it serialises writers already.
"""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import connection, models

from repairs.models import Job, RepairEvent, Worker, WorkerToken

# Namespaces this product's advisory locks on PostgreSQL ("PLS").
LOCK_SPACE = 0x504C53


def in_use() -> bool:
    """Whether the default database is PostgreSQL, where these statements run."""
    return connection.vendor == "postgresql"


def turn_take(fingerprint: str, *, worker_id: int | None) -> None:
    """Waits for this transaction's turn on ``fingerprint`` and, with ``worker_id``, on the
    worker's row: both locks in one statement, the fingerprint's first (the select list is
    computed before the row is locked). Held until the transaction ends."""
    key = [LOCK_SPACE, int(fingerprint[:7], 16)]
    with connection.cursor() as cursor:
        if worker_id is None:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", key)
        else:
            cursor.execute(
                f"SELECT pg_advisory_xact_lock(%s, %s) FROM {_WORKERS} "  # noqa: S608
                "WHERE id = %s FOR UPDATE",
                [*key, worker_id],
            )


_WORKERS = connection.ops.quote_name(Worker._meta.db_table)
_JOBS = connection.ops.quote_name(Job._meta.db_table)


# claim-next is the hottest write in the product (a fleet polls it), so on PostgreSQL it is
# one statement: pick and lock the next job, mark the worker running (unless paused) and
# lease the job, in a single round trip and without an explicit transaction. Its twin does
# the same in five (BEGIN, SELECT, two UPDATEs, COMMIT). Locks are taken job first, then
# worker, as everywhere else.
_CLAIM_NEXT = f"""
WITH next_job AS (
    SELECT id FROM {_JOBS}
    WHERE status = 'open'
    ORDER BY priority_rank, created_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
), started AS (
    UPDATE {_WORKERS} SET status = 'running', last_heartbeat_at = %(now)s
    WHERE id = %(worker)s AND status <> 'paused' AND EXISTS (SELECT 1 FROM next_job)
    RETURNING id
)
UPDATE {_JOBS} AS job
SET status = 'claimed', claimed_by_id = started.id, claimed_at = %(now)s,
    lease_expires_at = %(lease)s, attempts = job.attempts + 1, progress = '',
    updated_at = %(now)s
FROM next_job, started
WHERE job.id = next_job.id
RETURNING job.*
"""  # noqa: S608 - table names from the models, every value a parameter


def job_claim_next(*, worker_id: int, now: datetime, lease_expires_at: datetime) -> Job | None:
    """Leases the next open job to the worker, marking it running; None for an empty queue
    or a paused worker (which takes nothing). A released stuck job comes back with its
    ``stuck_at`` still set: the caller recovers it."""
    params = {"now": now, "worker": worker_id, "lease": lease_expires_at}
    return next(iter(Job.objects.raw(_CLAIM_NEXT, params)), None)


_EVENTS = connection.ops.quote_name(RepairEvent._meta.db_table)
_EARLIER = (
    "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM {events} "
    "WHERE fingerprint = %s AND occurred_at >= %s LIMIT %s) AS repeats), {spent}, "
    "(SELECT id FROM {jobs} WHERE external_id = %s)"
)
_EARLIER_WITHOUT_BUDGET = _EARLIER.format(events=_EVENTS, jobs=_JOBS, spent="0")
# The retry budget's count uses the (worker, job_ref, error_class, action) index.
_EARLIER_WITH_BUDGET = _EARLIER.format(
    events=_EVENTS,
    jobs=_JOBS,
    spent=(
        f"(SELECT COUNT(*) FROM {_EVENTS} WHERE worker_id = %s "  # noqa: S608
        "AND job_ref = %s AND error_class = %s AND action = %s AND decision = %s)"
    ),
)


def repair_event_earlier(
    *,
    fingerprint: str,
    since: datetime,
    cap: int,
    job_ref: str,
    worker_id: int,
    budget: tuple[str, str] | None,
    allowed: str,
) -> tuple[int, int, int | None]:
    """The repeat count (at most ``cap``), the spent budget and the job's id in one round
    trip. The repeat count has no ORDER BY under its LIMIT, or PostgreSQL would walk the whole
    primary key instead of the (fingerprint, time) index."""
    params: list = [fingerprint, since, cap]
    if budget is not None:
        params += [worker_id, job_ref, *budget, allowed]
    params.append(job_ref or None)
    with connection.cursor() as cursor:
        cursor.execute(_EARLIER_WITHOUT_BUDGET if budget is None else _EARLIER_WITH_BUDGET, params)
        return cursor.fetchone()


def worker_token_find(digest: str) -> WorkerToken | None:
    """The active token with this digest, its worker and its user, in one hand-written
    query: the ORM's version of the same three-table join spent more CPU composing its SQL
    and building the objects than the database spent answering (profiled). Only the query's
    text is kept, never a token."""
    sql, readers = _token_lookup()
    with connection.cursor() as cursor:
        cursor.execute(sql, [digest])
        row = cursor.fetchone()
    if row is None:
        return None
    token, worker, user = _instances(readers, row)
    worker.user = user  # also answers user.worker without a query
    token.worker = worker
    return token


# For each table of the join, in order: the model, its concrete fields' names, and for each
# field that needs them (by position), its column and converters.
_Reader = tuple[type[models.Model], list[str], list[tuple[int, object, list]]]
_token_lookup_built: list[tuple[str, list[_Reader]]] = []


def _token_lookup() -> tuple[str, list[_Reader]]:
    """The token query, built once from the models (so a field added to any of them is read
    too), with what turns its raw values into field values."""
    if _token_lookup_built:
        return _token_lookup_built[0]
    qn = connection.ops.quote_name
    user_model = get_user_model()
    columns: list[str] = []
    readers: list[_Reader] = []
    for model, alias in ((WorkerToken, "t"), (Worker, "w"), (user_model, "u")):
        fields = list(model._meta.concrete_fields)
        columns += [f"{alias}.{qn(field.column)}" for field in fields]
        # Django's converters are what the ORM would apply to each raw value (none for
        # today's fields on PostgreSQL; a JSON field added to one of the models needs its own).
        converters = []
        for index, field in enumerate(fields):
            column = field.get_col(alias)
            found = [
                *connection.ops.get_db_converters(column),
                *field.get_db_converters(connection),
            ]
            if found:
                converters.append((index, column, found))
        readers.append((model, [field.attname for field in fields], converters))
    token_fk = WorkerToken._meta.get_field("worker")
    user_fk = Worker._meta.get_field("user")
    sql = (
        f"SELECT {', '.join(columns)} "  # noqa: S608 - names from the models, never input
        f"FROM {qn(WorkerToken._meta.db_table)} t "
        f"JOIN {qn(Worker._meta.db_table)} w "
        f"ON w.{qn(Worker._meta.pk.column)} = t.{qn(token_fk.column)} "
        f"JOIN {qn(user_model._meta.db_table)} u "
        f"ON u.{qn(user_model._meta.pk.column)} = w.{qn(user_fk.column)} "
        f"WHERE t.{qn('digest')} = %s AND t.{qn('revoked_at')} IS NULL"
    )
    _token_lookup_built.append((sql, readers))
    return sql, readers


def _instances(readers: list[_Reader], row: tuple) -> list[models.Model]:
    instances, start = [], 0
    for model, names, converters in readers:
        values = list(row[start : start + len(names)])
        start += len(names)
        for index, column, field_converters in converters:
            for convert in field_converters:
                values[index] = convert(values[index], column, connection)
        instances.append(model.from_db(connection.alias, names, values))
    return instances
