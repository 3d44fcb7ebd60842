"""Repair events: a worker's report, judged by the policy in force. A retried report is
answered once by the API (``core.idempotency``), like every other worker write."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import CharField, F, Model
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from core.audience import later, when_read
from core.audit import CHANGE, audit_record, said
from core.redaction import redact, redact_clipped
from notifications.models import DecisionKind
from notifications.services import report_enqueue
from policies import ladder
from policies.exceptions import TargetNotTheJobError, UnknownActionError
from policies.models import Proposal, WorkerPolicy
from policies.selectors import policy_current
from policies.services import proposal_for_repeat
from repairs import metrics, postgres
from repairs.evidence import clean_evidence, fingerprint
from repairs.exceptions import OutcomeAlreadyRecorded
from repairs.models import (
    BudgetSpend,
    Gate,
    Job,
    Outcome,
    RepairEvent,
    RepeatCounter,
    RepeatTally,
    SelfHealRequest,
    Worker,
    WorkerToken,
)
from repairs.services.lessons import repair_lesson_record

# What the audit entry of a marked outcome says.
_MARKED: dict[str, str] = {
    Outcome.RESOLVED: gettext_noop("Marked resolved."),
    Outcome.FAILED: gettext_noop("Marked failed."),
}


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
            _("Unknown action %(action)s. Known actions: %(known)s.")
            % {"action": repr(action), "known": ", ".join(ladder.KNOWN_ACTIONS)},
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
    # A threshold of 0 raises no proposals; successes and the proposals' own records never.
    proposes = failure and gate != Gate.REPAIR_SUGGESTED
    tally = RepeatTally.of(
        event_fingerprint,
        window=policy.repeat_window,
        buckets=settings.PLS_REPEAT_BUCKETS,
        occurred_at=occurred_at or now,
        now=now,
        threshold=(policy.auto_proposal_threshold or None) if proposes else None,
        worker=worker.name,
    )

    with transaction.atomic():
        # Judged on what the worker named, before redaction could hide a name.
        choices = _verdicts(policy, action, resources)
        event = RepairEvent(
            worker=worker,
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
            policy=policy,
            token=token,
            occurred_at=occurred_at or now,
            outcome=outcome.outcome if outcome else "",
            resolved_at=now if outcome else None,
            resolved_by_id=worker.user_id if outcome else None,
        )
        verdict = choices.verdicts[_counted_and_saved(event, tally, choices)]
        raised = False
        if tally.threshold and event.proposal_id is None and event.repeat_count >= tally.threshold:
            # The fingerprint crossed the threshold with no undecided proposal to count on.
            proposal, raised = proposal_for_repeat(
                fingerprint=event_fingerprint,
                error_class=error_class,
                message=message,
                worker=worker.name,
                repeats=event.repeat_count,
                rejected_since=now - policy.repeat_window,
            )
            if proposal is not None:
                event.proposal = proposal
                RepairEvent.objects.filter(pk=event.pk).update(proposal=proposal)
        if verdict is not None and verdict.decision == ladder.NEEDS_APPROVAL:
            self_heal_request_open(
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


@dataclass(frozen=True)
class _Verdicts:
    """The verdicts an action may get: one, or for an automatic action the policy allows,
    one per budget it may find spent (``verdicts[n]`` once it is the n-th spent; ``[0]``
    when none was left)."""

    verdicts: list[ladder.Verdict | None]
    budget: int | None  # the automatic actions allowed, when this one spends one

    def as_dicts(self) -> list[dict | None]:
        return [verdict.as_dict() if verdict else None for verdict in self.verdicts]


def _verdicts(policy: WorkerPolicy, action: str, resources: tuple[str, ...]) -> _Verdicts:
    """The policy's verdict on the action. An automatic action the policy allows spends one
    of the worker's budget for the job and error class, or escalates once none is left; it
    is judged for each count the statement that spends it may find."""
    if not action:
        return _Verdicts([None], budget=None)
    verdict = ladder.judge(policy, action=action, resources=resources)
    if action not in ladder.BUDGETED or verdict.decision != ladder.ALLOWED:
        return _Verdicts([verdict], budget=None)
    budget = policy.max_auto_retries
    spent = [budget, *range(budget)]
    return _Verdicts(
        [ladder.judge(policy, action=action, resources=resources, spent=n) for n in spent],
        budget=budget,
    )


def _counted_and_saved(event: RepairEvent, tally: RepeatTally, choices: _Verdicts) -> int:
    """Spends the budget, counts the event on its fingerprint (and proposal) and inserts it
    with its verdict, ``choices.verdicts[n]`` for the returned n: one statement on
    PostgreSQL, whose row locks make reporters of one fingerprint (and retries of one
    worker's job) take turns."""
    report = postgres.repair_event_report if postgres.in_use() else repair_event_report_by_orm
    return report(event, tally=tally, budget=choices.budget, verdicts=choices.as_dicts())


def repair_event_report_by_orm(
    event: RepairEvent, *, tally: RepeatTally, budget: int | None, verdicts: list[dict | None]
) -> int:
    """The ORM twin of ``postgres.repair_event_report``, in the caller's transaction (on
    SQLite, whose writers take turns already)."""
    spent = 0
    if budget is not None:
        row, _ = BudgetSpend.objects.get_or_create(
            worker_id=event.worker_id,
            job_ref=event.job_ref,
            error_class=event.error_class,
            action=event.action,
        )
        if row.spent < budget:
            BudgetSpend.objects.filter(pk=row.pk).update(spent=F("spent") + 1)
            spent = row.spent + 1
    event.verdict = verdicts[spent]
    event.decision = event.verdict["decision"] if event.verdict else ""
    counter = RepeatCounter.objects.filter(pk=tally.fingerprint).first()
    if counter is None:
        counter = RepeatCounter(
            fingerprint=tally.fingerprint, bucket_seconds=tally.bucket_seconds, newest=tally.head
        )
    event.repeat_count = counter.count(tally)
    counter.save()
    event.proposal = None
    if tally.threshold is not None and event.repeat_count >= tally.threshold:
        event.proposal = _counted_on_proposal(tally)
    event.job_id = None
    if event.job_ref:
        known = Job.objects.filter(external_id=event.job_ref).values_list("pk", flat=True)
        event.job_id = known.first()
    event.save(force_insert=True)
    return spent


def _counted_on_proposal(tally: RepeatTally) -> Proposal | None:
    undecided = Proposal.objects.filter(
        kind=Proposal.Kind.REPAIR, fingerprint=tally.fingerprint, status__in=Proposal.UNDECIDED
    )
    proposal = undecided.order_by("pk").first()
    if proposal is not None:
        proposal.occurrences += 1
        if tally.worker not in proposal.affected_workers:
            proposal.affected_workers.append(tally.worker)
        proposal.updated_at = tally.now
        proposal.save(update_fields=["occurrences", "affected_workers", "updated_at"])
    return proposal


def max_chars(model: type[Model], field: str) -> int:
    """The width of a CharField's column, which Django's checks require it to declare."""
    column = model._meta.get_field(field)
    assert isinstance(column, CharField) and column.max_length is not None, (
        f"{model.__name__}.{field} is not a CharField with a max_length"
    )
    return column.max_length


_PHASE_MAX_CHARS = max_chars(RepairEvent, "phase")


def self_heal_request_open(
    event: RepairEvent,
    verdict: ladder.Verdict,
    policy: WorkerPolicy,
    callback_url: str,
    now: datetime,
    *,
    resources: list[str],
    tool_digest: str = "",
    claimed_at: datetime | None = None,
) -> SelfHealRequest:
    """The request an escalated verdict opens on ``event``, and the approver's report. A
    tool call's request is bound to its digest and to the claim it was asked under."""
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
        tool_digest=tool_digest,
        claimed_at=claimed_at,
    )
    report_enqueue(
        source="self_heal.pending",
        title=later(
            gettext_lazy("%(worker)s asks to %(action)s %(resources)s"),
            worker=worker.name,
            action=request.action,
            resources=request.resources_shown,
        )
        if request.resources_shown
        else later(
            gettext_lazy("%(worker)s asks to %(action)s"), worker=worker.name, action=request.action
        ),
        status="warning",
        team=worker.team,
        worker=worker.name,
        task_id=event.job_ref,
        progress=verdict.reason,
        next_step=later(
            gettext_lazy(
                "Approve or reject self-heal request #%(id)s before %(expires)s (%(role)s)."
            ),
            id=request.pk,
            expires=when_read(request.expires_at),
            role=request.approver_role,
        ),
        role=request.approver_role,
        dedup_key=f"self_heal.pending:{request.pk}",
        link=reverse("admin:repairs_selfhealrequest_change", args=[request.pk]),
        decision_kind=DecisionKind.SELF_HEAL_REQUEST,
        decision_id=request.pk,
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
                _("Event #%(event)s already has the outcome %(outcome)s.")
                % {"event": event.pk, "outcome": repr(event.outcome)},
                outcome=event.outcome,
            )
        event.outcome, event.resolved_at, event.resolved_by = outcome, now, by
        audit_record(user=by, obj=event, action_flag=CHANGE, message=said(_MARKED[outcome]))
        if outcome == Outcome.RESOLVED:
            repair_lesson_record(
                event=event, lesson=lesson, fix=fix, next_round_priority=next_round_priority
            )
    return event
