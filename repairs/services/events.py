"""Repair events: a worker's report, judged by the policy in force."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import CHANGE, audit_record
from core.redaction import redact, redact_clipped
from notifications.services import report_enqueue
from policies import ladder
from policies.exceptions import TargetNotTheJobError, UnknownActionError
from policies.models import WorkerPolicy
from policies.selectors import policy_current
from policies.services import proposal_for_repeat
from repairs import metrics
from repairs.evidence import clean_evidence, fingerprint
from repairs.exceptions import IdempotencyConflict, OutcomeAlreadyRecorded
from repairs.models import Gate, Job, Outcome, RepairEvent, SelfHealRequest, Worker, WorkerToken

# Namespaces this product's advisory locks on PostgreSQL ("PLS").
_LOCK_SPACE = 0x504C53


def request_digest(payload: Any) -> str:
    """Digest of a request body as data, so key order and whitespace do not matter."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ReportedEvent:
    event: RepairEvent
    replayed: bool


def repair_event_report(
    *,
    worker: Worker,
    gate: str,
    error_class: str,
    job_ref: str = "",
    phase: str = "",
    action: str = "",
    target: str = "",
    message: str = "",
    evidence: str = "",
    occurred_at: datetime | None = None,
    idempotency_key: str | None = None,
    digest: str = "",
    token: WorkerToken | None = None,
    callback_url: str = "",
    failure: bool = True,
) -> ReportedEvent:
    """Records a worker's repair event with the policy's verdict on its action, or returns
    the earlier one for a repeated request.

    A ``needs_approval`` verdict opens a self-heal request; a fingerprint that reaches the
    policy's repeat threshold raises (or adds to) a repair proposal. Both happen in the
    event's transaction, with the owner reports they cause.

    ``failure=False`` records a success (a passed artifact check): it is counted but never
    raises a repair proposal, which is for repeated errors.

    The same ``idempotency_key`` with the same ``digest`` returns the first event; with
    another digest it raises ``IdempotencyConflict``. Concurrent retries are settled by the
    database's unique constraint, so only one row is ever written.
    """
    if action and action not in ladder.KNOWN_ACTIONS:
        raise UnknownActionError(
            f"Unknown action {action!r}. Known actions: {', '.join(ladder.KNOWN_ACTIONS)}.",
            known_actions=list(ladder.KNOWN_ACTIONS),
        )
    resources = _resources_touched(action, job_ref, target)
    if idempotency_key:
        earlier = RepairEvent.objects.filter(worker=worker, idempotency_key=idempotency_key).first()
        if earlier is not None:
            return _replay(earlier, digest)

    message = redact(message).text
    phase = redact_clipped(phase, _PHASE_MAX_CHARS)
    # The target and the callback URL's user:password@ are shown to every role: redacted,
    # and cut to their columns (a marker may be longer than the secret it replaces).
    shown_target = redact_clipped(target, _TARGET_CHARS)
    callback_url = redact_clipped(callback_url, _CALLBACK_URL_CHARS)
    evidence_clean = clean_evidence(evidence, settings.PLS_EVIDENCE_MAX_BYTES)
    now = timezone.now()
    event_fingerprint = fingerprint(error_class, message)
    policy = policy_current(cached=True)
    budget = (error_class, action) if action in ladder.BUDGETED else None

    try:
        with transaction.atomic():
            _take_turn(event_fingerprint, worker=worker if budget else None)
            earlier = _earlier(
                event_fingerprint,
                since=now - policy.repeat_window,
                job_ref=job_ref,
                worker=worker,
                budget=budget,
            )
            repeats = earlier.repeats + 1
            proposal, raised = None, False
            threshold = policy.auto_proposal_threshold
            if failure and threshold and repeats >= threshold and gate != Gate.REPAIR_SUGGESTED:
                proposal, raised = proposal_for_repeat(
                    fingerprint=event_fingerprint,
                    error_class=error_class,
                    message=message,
                    worker=worker.name,
                    repeats=repeats,
                    rejected_since=now - policy.repeat_window,
                )
            verdict = None
            if action:
                # Judged on what the worker named, before redaction could hide a name.
                verdict = ladder.judge(
                    policy, action=action, resources=resources, spent=earlier.spent
                )
            event = RepairEvent(
                worker=worker,
                job_id=earlier.job_id,
                job_ref=job_ref,
                gate=gate,
                error_class=error_class,
                fingerprint=event_fingerprint,
                phase=phase,
                action=action,
                target=shown_target,
                message=message,
                evidence=evidence_clean.text,
                evidence_cut_bytes=evidence_clean.cut_bytes,
                redactions=evidence_clean.redactions,
                repeat_count=repeats,
                verdict=verdict.as_dict() if verdict else None,
                decision=verdict.decision if verdict else "",
                policy=policy,
                proposal=proposal,
                token=token,
                idempotency_key=idempotency_key or None,
                request_digest=digest,
                occurred_at=occurred_at or now,
            )
            _insert(event)
            if verdict is not None and verdict.decision == ladder.NEEDS_APPROVAL:
                _self_heal_request_open(
                    event,
                    verdict,
                    policy,
                    callback_url,
                    now,
                    resources=[redact_clipped(name, _TARGET_CHARS) for name in resources],
                )
            if raised:
                _repair_suggested_record(event, policy, now)
    except IntegrityError:
        if not idempotency_key:
            raise
        # A concurrent request with the same key committed first: answer as it did.
        earlier_event = RepairEvent.objects.get(worker=worker, idempotency_key=idempotency_key)
        return _replay(earlier_event, digest)

    metrics.repair_events.labels(gate=gate).inc()
    if verdict is not None:
        metrics.verdicts.labels(decision=verdict.decision).inc()
    if evidence_clean.redactions:
        metrics.evidence_redactions.inc(evidence_clean.redactions)
    return ReportedEvent(event, replayed=False)


_TARGET_CHARS = SelfHealRequest._meta.get_field("target").max_length or 200
_CALLBACK_URL_CHARS = SelfHealRequest._meta.get_field("callback_url").max_length or 500


def _resources_touched(action: str, job_ref: str, target: str) -> tuple[str, ...]:
    """Every resource the action touches (``ladder.resources_touched``); a job-scoped action
    naming another target is refused, with the target redacted in the answer."""
    try:
        return ladder.resources_touched(action, job=job_ref, target=target)
    except ladder.TargetNotTheJob:
        shown = redact_clipped(target, _TARGET_CHARS)
        raise TargetNotTheJobError(
            _(
                "%(action)s acts on its job %(job)s, but the target names %(target)s. A "
                "release, reclaim, touch or retry touches its job and nothing else: leave the "
                "target out (or set it to the job), and report another resource in an event "
                "of its own."
            )
            % {"action": action, "job": job_ref, "target": shown},
            action=action,
            job=job_ref,
            target=shown,
        ) from None


def _take_turn(event_fingerprint: str, *, worker: Worker | None) -> None:
    """Serialises, on PostgreSQL, the reports this one must count: those of the same
    fingerprint, and (``worker``, for a budgeted action) the worker's budgeted actions.

    Reporters of one fingerprint take turns from here to commit, so each counts the ones
    before it and the threshold is crossed by exactly one report; two concurrent retries of
    one worker cannot both take its last one. Both locks are taken in one statement, the
    fingerprint's first; the counts come in the next statement, whose snapshot sees what
    the previous holders committed. (SQLite serialises writers already.)
    """
    if connection.vendor != "postgresql":
        return
    key = [_LOCK_SPACE, int(event_fingerprint[:7], 16)]
    with connection.cursor() as cursor:
        if worker is None:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", key)
        else:
            # The select list is computed before the row is locked: the advisory lock first.
            cursor.execute(
                f"SELECT pg_advisory_xact_lock(%s, %s) FROM {_WORKER_TABLE} "  # noqa: S608
                "WHERE id = %s FOR UPDATE",
                [*key, worker.pk],
            )


@dataclass(frozen=True)
class _Earlier:
    repeats: int  # earlier events of the fingerprint in the window, up to the cap
    spent: int  # the worker's earlier allowed actions of this kind on this job and class
    job_id: int | None  # the reported job, when the console knows it


def _earlier(
    event_fingerprint: str,
    *,
    since: datetime,
    job_ref: str,
    worker: Worker,
    budget: tuple[str, str] | None,
) -> _Earlier:
    """What the new event is judged against, read in one round trip: the repeat count, the
    spent budget and the job's id.

    The repeat count is capped: an outage repeats one fingerprint thousands of times, and
    an uncapped count would read every one of them on every new report. It has no ORDER BY
    under its LIMIT, or PostgreSQL would walk the whole primary key instead of the
    (fingerprint, time) index.
    """
    params: list[Any] = [
        event_fingerprint,
        _OCCURRED_AT.get_db_prep_value(since, connection),
        max(settings.PLS_REPEAT_COUNT_CAP - 1, 0),
    ]
    if budget is not None:
        params += [worker.pk, job_ref, *budget, ladder.ALLOWED]
    params.append(job_ref or None)
    with connection.cursor() as cursor:
        cursor.execute(_EARLIER_SQL if budget is None else _EARLIER_WITH_BUDGET_SQL, params)
        repeats, spent, job_id = cursor.fetchone()
    return _Earlier(repeats=repeats, spent=spent, job_id=job_id)


def _insert(event: RepairEvent) -> None:
    """INSERT ... RETURNING the id, without the ORM composing the statement anew for every
    report (a visible share of ingest's CPU). Every column is written as ``save()`` would
    write it, so a field added to the model is stored too."""
    sql, fields = _insert_statement()
    params = [field.get_db_prep_save(field.pre_save(event, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        event.pk = cursor.fetchone()[0]
    event._state.adding = False
    event._state.db = connection.alias


_insert_statements: dict[str, tuple[str, list]] = {}


def _insert_statement() -> tuple[str, list]:
    cached = _insert_statements.get(connection.vendor)
    if cached is None:
        qn = connection.ops.quote_name
        meta = RepairEvent._meta
        fields = [
            field
            for field in meta.concrete_fields
            if not field.primary_key and not getattr(field, "generated", False)
        ]
        sql = (
            f"INSERT INTO {qn(meta.db_table)} "  # noqa: S608 - names from the model
            f"({', '.join(qn(field.column) for field in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {qn(meta.pk.column)}"
        )
        cached = _insert_statements[connection.vendor] = (sql, fields)
    return cached


_OCCURRED_AT = RepairEvent._meta.get_field("occurred_at")
_PHASE_MAX_CHARS = RepairEvent._meta.get_field("phase").max_length
_WORKER_TABLE = Worker._meta.db_table
# Table names come from the models; every value is a parameter.
_EARLIER_SELECT = (
    "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM {events} "
    "WHERE fingerprint = %s AND occurred_at >= %s LIMIT %s) AS repeats), {spent}, "
    "(SELECT id FROM {jobs} WHERE external_id = %s)"
)
_EARLIER_SQL = _EARLIER_SELECT.format(
    events=RepairEvent._meta.db_table, jobs=Job._meta.db_table, spent="0"
)
# The retry budget's count uses the (worker, job_ref, error_class, action) index.
_EARLIER_WITH_BUDGET_SQL = _EARLIER_SELECT.format(
    events=RepairEvent._meta.db_table,
    jobs=Job._meta.db_table,
    spent=(
        f"(SELECT COUNT(*) FROM {RepairEvent._meta.db_table} WHERE worker_id = %s "  # noqa: S608
        "AND job_ref = %s AND error_class = %s AND action = %s AND decision = %s)"
    ),
)


def _self_heal_request_open(
    event: RepairEvent,
    verdict: ladder.Verdict,
    policy: WorkerPolicy,
    callback_url: str,
    now: datetime,
    *,
    resources: list[str],
) -> SelfHealRequest:
    worker = event.worker
    request = SelfHealRequest.objects.create(
        event=event,
        worker=worker,
        action=event.action,
        target=event.target or event.job_ref,
        resources=resources,
        risk=verdict.rung,
        reason=verdict.reason,
        approver_role=verdict.approver_role or "",
        requested_by_id=worker.user_id,
        expires_at=now + policy.approval_ttl,
        callback_url=callback_url,
    )
    report_enqueue(
        source="self_heal.pending",
        title=f"{worker.name} asks to {request.action} {request.resources_shown}".strip(),
        status="warning",
        team=worker.team,
        worker=worker.name,
        task_id=event.job_ref,
        progress=verdict.reason,
        next_step=(
            f"Approve or reject self-heal request #{request.pk} before "
            f"{request.expires_at:%Y-%m-%d %H:%M} UTC ({request.approver_role})."
        ),
        role=request.approver_role,
        dedup_key=f"self_heal.pending:{request.pk}",
    )
    return request


def _repair_suggested_record(event: RepairEvent, policy: WorkerPolicy, now: datetime) -> None:
    """The ``repair_suggested`` event that says this report raised its fingerprint's
    proposal."""
    RepairEvent.objects.create(
        worker=event.worker,
        job_id=event.job_id,
        job_ref=event.job_ref,
        gate=Gate.REPAIR_SUGGESTED,
        error_class=event.error_class,
        # Its own fingerprint, so the proposal's record never counts as a repeat.
        fingerprint=fingerprint(Gate.REPAIR_SUGGESTED, event.fingerprint),
        action="propose",
        message=f"Repair proposal #{event.proposal_id} raised after {event.repeat_count} repeats.",
        verdict=ladder.judge(policy, action="propose").as_dict(),
        decision=ladder.ALLOWED,
        policy=policy,
        proposal_id=event.proposal_id,
        occurred_at=now,
    )
    metrics.proposals_raised.inc()


def _replay(earlier: RepairEvent, digest: str) -> ReportedEvent:
    if earlier.request_digest != digest:
        raise IdempotencyConflict(
            "This Idempotency-Key was first used with a different body; use a new key "
            "for a new event.",
            event=earlier.pk,
        )
    metrics.idempotent_replays.inc()
    return ReportedEvent(earlier, replayed=True)


def repair_event_resolve(
    *,
    event: RepairEvent,
    outcome: str,
    by: AbstractBaseUser,
    lesson: str = "",
    fix: str = "",
    next_round_priority: int | None = None,
) -> RepairEvent:
    """Records whether the event's repair worked. Set once: a second outcome is refused.

    A resolved repair feeds the learning memory (the ``worker_learning`` gate): the lesson
    and fix given here, or ones derived from the event, become a ``repair_lesson``.
    """
    from learning.services import repair_lesson_record

    now = timezone.now()
    with transaction.atomic():
        updated = RepairEvent.objects.filter(pk=event.pk, outcome="").update(
            outcome=outcome, resolved_at=now, resolved_by=by
        )
        if not updated:
            event.refresh_from_db(fields=["outcome", "resolved_at"])
            raise OutcomeAlreadyRecorded(
                f"Event #{event.pk} already has the outcome {event.outcome!r}.",
                outcome=event.outcome,
            )
        event.outcome, event.resolved_at, event.resolved_by = outcome, now, by
        audit_record(user=by, obj=event, action_flag=CHANGE, message=f"Marked {outcome}.")
        if outcome == Outcome.RESOLVED:
            repair_lesson_record(
                event=event, lesson=lesson, fix=fix, next_round_priority=next_round_priority
            )
    return event
