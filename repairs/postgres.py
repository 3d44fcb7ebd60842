"""The hand-written PostgreSQL of repairs, behind its services.

Each statement here has an ORM twin in the service that calls it, used on SQLite (and
anywhere this module's statement is not worth its upkeep); tests/repairs/
test_postgres_statements.py runs both on the same data on PostgreSQL and asserts they
answer alike. A statement stays only while it pays at least 5 % of ingest or claim
throughput over its twin, as ``bench/statements.py`` measures it (the figures are in the
README, Benchmarks, "Hand-written SQL"). Ingest's report statement is also there for
correctness: the counter's row lock is what makes reporters of one fingerprint take turns
(SQLite serialises writers already).
"""

import json
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import connection, models

from core.postgres import prepared_cursor
from policies.models import Proposal
from repairs.models import (
    BudgetSpend,
    Job,
    RepairEvent,
    RepeatCounter,
    RepeatTally,
    Worker,
    WorkerToken,
)


def in_use() -> bool:
    """Whether the default database is PostgreSQL, where these statements run."""
    return connection.vendor == "postgresql"


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
_COUNTERS = connection.ops.quote_name(RepeatCounter._meta.db_table)
_PROPOSALS = connection.ops.quote_name(Proposal._meta.db_table)
_SPENDS = connection.ops.quote_name(BudgetSpend._meta.db_table)

# The fingerprint's counter, shifted to the report's bucket and (when the report falls in
# the window) one up in its newest bucket; the counts kept as the JSON list the ORM reads.
_SHIFTED = """(
    array_fill(0, ARRAY[CASE WHEN c.bucket_seconds = EXCLUDED.bucket_seconds
                        THEN LEAST(GREATEST(EXCLUDED.newest - c.newest, 0), %(buckets)s::int)
                        ELSE %(buckets)s::int END::int])
    || ARRAY(SELECT v::int FROM jsonb_array_elements_text(c.counts) WITH ORDINALITY AS t(v, i)
             ORDER BY i)
    || array_fill(0, ARRAY[%(buckets)s::int])
)[1:%(buckets)s::int]"""

# A report in one statement: spend the worker's budget when its action is budgeted (the
# verdict is the one picked for what it spent), count the report on its fingerprint's counter
# (whose row lock is the fingerprint's turn, held to commit), count it on the fingerprint's
# undecided proposal from the threshold on, and insert the event with its verdict, repeat
# count, proposal and job. Each step reads the one before it, so the locks are always taken
# in the same order: the budget's row, the counter's, the proposal's.
_SPEND = f"""
spent AS (
    INSERT INTO {_SPENDS} AS b (worker_id, job_ref, error_class, action, spent)
    VALUES (%(worker_id)s, %(spend_job_ref)s, %(error_class)s, %(action)s, 1)
    ON CONFLICT (worker_id, job_ref, error_class, action) DO UPDATE SET spent = b.spent + 1
    WHERE b.spent < %(budget)s::int
    RETURNING spent
), judged AS (
    SELECT COALESCE((SELECT spent FROM spent), 0) AS spent
),"""  # noqa: S608 - the table's name from the model, every value a parameter
_UNSPENT = """
judged AS (SELECT 0 AS spent),"""
_REPORT = f"""
WITH {{judged}} counter AS (
    INSERT INTO {_COUNTERS} AS c (fingerprint, bucket_seconds, newest, counts)
    SELECT %(fingerprint)s, %(bucket_seconds)s, %(head)s, %(fresh)s::jsonb FROM judged
    ON CONFLICT (fingerprint) DO UPDATE SET
        counts = (
            SELECT to_jsonb(
                CASE WHEN %(counted)s THEN (s[1] + 1) || s[2:%(buckets)s::int] ELSE s END
            ) FROM (SELECT {_SHIFTED} AS s) AS shifted
        ),
        newest = GREATEST(c.newest, EXCLUDED.newest),
        bucket_seconds = EXCLUDED.bucket_seconds
    RETURNING (SELECT COALESCE(SUM(v::int), 0) FROM jsonb_array_elements_text(c.counts) AS v)
        AS n
), repeats AS (
    SELECT n + %(uncounted)s::int AS n FROM counter
), counted_on AS (
    UPDATE {_PROPOSALS} AS p
    SET occurrences = p.occurrences + 1,
        affected_workers = CASE
            WHEN p.affected_workers @> jsonb_build_array(%(worker)s::text) THEN p.affected_workers
            ELSE p.affected_workers || jsonb_build_array(%(worker)s::text) END,
        updated_at = %(now)s
    FROM repeats
    WHERE repeats.n >= %(threshold)s::int AND p.kind = 'repair'
        AND p.fingerprint = %(fingerprint)s AND p.status IN ('open', 'deferred')
    RETURNING p.id
), reported AS (
    INSERT INTO {_EVENTS} ({{columns}}, verdict, decision, repeat_count, proposal_id, job_id)
    SELECT {{values}},
        %(verdicts)s::jsonb -> judged.spent,
        COALESCE(%(verdicts)s::jsonb -> judged.spent ->> 'decision', ''),
        repeats.n, (SELECT MIN(id) FROM counted_on),
        (SELECT id FROM {_JOBS} WHERE external_id = %(job_ref)s)
    FROM repeats, judged
    RETURNING id, repeat_count, proposal_id, job_id
)
SELECT reported.id, judged.spent, reported.repeat_count, reported.proposal_id, reported.job_id
FROM reported, judged
"""  # noqa: S608 - table and column names from the models, every value a parameter
_COMPUTED = {"id", "verdict", "decision", "repeat_count", "proposal_id", "job_id"}
# The event's other columns, each a parameter, and the statement for an action that spends a
# budget and for one that does not: built once (composing them cost a report 36 µs).
_REPORTED = [f for f in RepairEvent._meta.concrete_fields if f.column not in _COMPUTED]
_REPORT_SPENDING, _REPORT_UNSPENT = (
    _REPORT.format(
        judged=judged,
        columns=", ".join(connection.ops.quote_name(field.column) for field in _REPORTED),
        values=", ".join(f"%(v{index})s" for index in range(len(_REPORTED))),
    )
    for judged in (_SPEND, _UNSPENT)
)


def repair_event_report(
    event: RepairEvent, *, tally: RepeatTally, budget: int | None, verdicts: list[dict | None]
) -> int:
    """Spends one of the worker's ``budget`` automatic actions for the event's job and error
    class (None: the action spends none), counts the
    event's repeat on its fingerprint (and, from the threshold on, on the undecided
    proposal), then inserts it: one round trip. Returns what the budget now has spent (0
    when nothing was spent) and stores ``verdicts[spent]`` with the event; sets the event's
    id, verdict, repeat count, proposal (None when there is none to count on) and job."""
    params: dict = {
        f"v{index}": field.get_db_prep_save(field.pre_save(event, add=True), connection)
        for index, field in enumerate(_REPORTED)
    }
    sql = _REPORT_UNSPENT if budget is None else _REPORT_SPENDING
    params.update(
        fingerprint=tally.fingerprint,
        bucket_seconds=tally.bucket_seconds,
        head=tally.head,
        buckets=tally.buckets,
        fresh=json.dumps(RepeatCounter.fresh_counts(buckets=tally.buckets, counted=tally.counted)),
        counted=tally.counted,
        uncounted=0 if tally.counted else 1,
        worker=tally.worker,
        now=tally.now,
        threshold=tally.threshold,
        verdicts=json.dumps(verdicts),
        job_ref=event.job_ref or None,
    )
    if budget is not None:
        params.update(
            worker_id=event.worker_id,
            spend_job_ref=event.job_ref,
            error_class=event.error_class,
            action=event.action,
            budget=budget,
        )
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        event.pk, spent, event.repeat_count, event.proposal_id, event.job_id = cursor.fetchone()
    event.verdict = verdicts[spent]
    event.decision = event.verdict["decision"] if event.verdict else ""
    return spent


def worker_token_find(digest: str) -> WorkerToken | None:
    """The active token with this digest, its worker and its user, in one hand-written
    query: the ORM's version of the same three-table join spent more CPU composing its SQL
    and building the objects than the database spent answering (profiled). Only the query's
    text is kept, never a token."""
    sql, readers = _token_lookup()
    with prepared_cursor() as cursor:
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


# The job a worker holds, read on every tool verdict: the ORM composing this one-row query
# spent about 0.5 ms of CPU per call, ten times what sending it by hand costs (measured in one
# process, 2026-12-04).
_HELD_FIELDS = ["id", "external_id", "claimed_by_id", "claimed_at"]
_HELD_COLUMNS = ", ".join(connection.ops.quote_name(name) for name in _HELD_FIELDS)
_HELD = f"""
SELECT {_HELD_COLUMNS}
FROM {_JOBS}
WHERE claimed_by_id = %s AND status IN (%s, %s)
ORDER BY claimed_at DESC, id DESC
LIMIT 1
"""  # noqa: S608 - names from the model, every value a parameter


def job_held_by(worker_id: int) -> Job | None:
    """The job the worker holds (claimed or stuck; the newest claim), with only its id,
    external id, holder and claim time loaded."""
    with prepared_cursor() as cursor:
        cursor.execute(_HELD, [worker_id, Job.Status.CLAIMED, Job.Status.STUCK])
        row = cursor.fetchone()
    return None if row is None else Job.from_db(connection.alias, _HELD_FIELDS, row)
