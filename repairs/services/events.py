"""Repair events: a worker's report, judged by the policy in force. A retried report is
answered once by the API (``core.idempotency``), like every other worker write."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import CharField, F, Func, IntegerField, Model, QuerySet, Subquery, Value
from django.db.models.expressions import Combinable
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import CHANGE, audit_record
from core.clock import console_zone, when
from core.redaction import redact, redact_clipped
from notifications.services import report_enqueue
from policies import ladder
from policies.exceptions import TargetNotTheJobError, UnknownActionError
from policies.models import WorkerPolicy
from policies.selectors import policy_current
from policies.services import proposal_for_repeat
from repairs import metrics, postgres
from repairs.evidence import clean_evidence, fingerprint
from repairs.exceptions import OutcomeAlreadyRecorded
from repairs.models import Gate, Job, Outcome, RepairEvent, SelfHealRequest, Worker, WorkerToken
from repairs.services.lessons import repair_lesson_record


@dataclass(frozen=True)
class ReportedOutcome:
    """Whether the reported repair worked, when the worker knows it with the report; with
    ``resolved``, the lesson, fix and priority it leaves (derived from the event if blank)."""

    outcome: str
    lesson: str = ""
    fix: str = ""
    next_round_priority: int | None = None


@dataclass(frozen=True)
class ReportedEvent:
    event: RepairEvent


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
    token: WorkerToken | None = None,
    callback_url: str = "",
    failure: bool = True,
    outcome: ReportedOutcome | None = None,
) -> ReportedEvent:
    """Records a worker's repair event with the policy's verdict on its action.

    A ``needs_approval`` verdict opens a self-heal request; a fingerprint that reaches the
    policy's repeat threshold raises (or adds to) a repair proposal. Both happen in the
    event's transaction, with the owner reports they cause.

    ``failure=False`` records a success (a passed artifact check): it is counted but never
    raises a repair proposal, which is for repeated errors.

    ``outcome`` is the repair's result when the worker reports it with the event: the event
    is stored with it, and a ``resolved`` one records its lesson, in the event's transaction,
    so the report and its outcome commit together (a keyed retry answers with both:
    ``core.idempotency``).
    """
    if action and action not in ladder.KNOWN_ACTIONS:
        raise UnknownActionError(
            f"Unknown action {action!r}. Known actions: {', '.join(ladder.KNOWN_ACTIONS)}.",
            known_actions=list(ladder.KNOWN_ACTIONS),
        )
    resources = _resources_touched(action, job_ref, target)

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
            verdict = ladder.judge(policy, action=action, resources=resources, spent=earlier.spent)
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
            occurred_at=occurred_at or now,
            outcome=outcome.outcome if outcome else "",
            resolved_at=now if outcome else None,
            resolved_by_id=worker.user_id if outcome else None,
        )
        event.save(force_insert=True)
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
        if outcome is not None and outcome.outcome == Outcome.RESOLVED:
            repair_lesson_record(
                event=event,
                lesson=outcome.lesson,
                fix=outcome.fix,
                next_round_priority=outcome.next_round_priority,
            )
    metrics.repair_events.labels(gate=gate).inc()
    if verdict is not None:
        metrics.verdicts.labels(decision=verdict.decision).inc()
    if evidence_clean.redactions:
        metrics.evidence_redactions.inc(evidence_clean.redactions)
    return ReportedEvent(event)


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
    one worker cannot both take its last one. The counts come in the next statement, whose
    snapshot sees what the previous holders committed. (SQLite serialises writers already.)
    """
    if postgres.in_use():
        postgres.turn_take(event_fingerprint, worker_id=worker.pk if worker else None)


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
    an uncapped count would read every one of them on every new report.
    """
    read = postgres.repair_event_earlier if postgres.in_use() else repair_event_earlier_by_orm
    repeats, spent, job_id = read(
        fingerprint=event_fingerprint,
        since=since,
        cap=max(settings.PLS_REPEAT_COUNT_CAP - 1, 0),
        job_ref=job_ref,
        worker_id=worker.pk,
        budget=budget,
        allowed=ladder.ALLOWED,
    )
    return _Earlier(repeats=repeats, spent=spent, job_id=job_id)


def repair_event_earlier_by_orm(
    *,
    fingerprint: str,
    since: datetime,
    cap: int,
    job_ref: str,
    worker_id: int,
    budget: tuple[str, str] | None,
    allowed: str,
) -> tuple[int, int, int | None]:
    """The ORM twin of ``postgres.repair_event_earlier``: one statement too, three scalar
    subqueries read beside the worker's row."""
    in_window = RepairEvent.objects.filter(fingerprint=fingerprint, occurred_at__gte=since)
    # No ORDER BY under the LIMIT: PostgreSQL would walk the primary key instead of the
    # (fingerprint, time) index.
    repeats: Combinable = Value(0)  # a cap of 0 counts nothing (an empty slice is NULL)
    if cap:
        repeats = _count(RepairEvent.objects.filter(pk__in=in_window.order_by().values("pk")[:cap]))
    spent: Combinable = Value(0)
    if budget is not None:
        error_class, action = budget
        spent = _count(
            RepairEvent.objects.filter(
                worker_id=worker_id,
                job_ref=job_ref,
                error_class=error_class,
                action=action,
                decision=allowed,
            )
        )
    job_id: Combinable = Value(None, output_field=IntegerField())
    if job_ref:
        job_id = Subquery(Job.objects.filter(external_id=job_ref).order_by().values("pk")[:1])
    row = Worker.objects.filter(pk=worker_id).order_by()
    return row.values_list(repeats, spent, job_id)[0]


def _count(records: QuerySet) -> Subquery:
    return Subquery(
        records.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n"),
        output_field=IntegerField(),
    )


def max_chars(model: type[Model], field: str) -> int:
    """The width of a CharField's column, which Django's checks require it to declare."""
    column = model._meta.get_field(field)
    assert isinstance(column, CharField) and column.max_length is not None, (
        f"{model.__name__}.{field} is not a CharField with a max_length"
    )
    return column.max_length


_PHASE_MAX_CHARS = max_chars(RepairEvent, "phase")


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
            f"{when(request.expires_at, zone=console_zone())} ({request.approver_role})."
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


def repair_event_resolve(
    *,
    event: RepairEvent,
    outcome: str,
    by: User,
    lesson: str = "",
    fix: str = "",
    next_round_priority: int | None = None,
) -> RepairEvent:
    """Records whether the event's repair worked. Set once: a second outcome is refused.

    A resolved repair feeds the learning memory (the ``worker_learning`` gate): the lesson
    and fix given here, or ones derived from the event, become a ``repair_lesson``.
    """
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
