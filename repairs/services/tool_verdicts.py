"""Tool-call verdicts (issue 14): an agent's hook asks before a tool runs, and the policy in
force answers with the ladder that judges events (``policies.ladder.judge``).

The policy's tool rules read the call as a ladder action and target; the ladder judges it
against the worker's claim and the target. A ``needs_approval`` call opens a self-heal
request bound to the call's digest and to the worker's claim; once approved, that exact call
is allowed once (the same ``tool_use_id`` asking again reuses it) and the approval is used.
Every answer is kept in the append-only verdict log (``ToolVerdict``).
"""

import hashlib
import json
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from core.redaction import redact, redact_clipped
from policies import ladder
from policies.models import WorkerPolicy
from policies.selectors import policy_current
from policies.tool_rules import ToolReading, read_call, subject_of
from repairs import postgres
from repairs.evidence import fingerprint
from repairs.exceptions import JobNotFound
from repairs.models import Gate, Job, RepairEvent, SelfHealRequest, ToolVerdict, Worker, WorkerToken
from repairs.services.events import self_heal_request_open
from repairs.services.jobs import job_holder_required
from repairs.services.self_heal import self_heal_request_expire

Status = SelfHealRequest.Status
# The stored input is cut after redaction: the log is for reading, the digest holds the rest.
STORED_INPUT_CHARS = 64 * 1024
_TARGET_CHARS = 200


@dataclass(frozen=True)
class ToolCall:
    """What an agent's hook asks about. ``job``: the external id of the job the call is
    for; blank means the job the worker holds."""

    tool_name: str
    tool_input: dict[str, Any]
    agent: str = ToolVerdict.Agent.OTHER
    session_id: str = ""
    tool_use_id: str = ""
    cwd: str = ""
    job: str = ""


def call_digest(call: ToolCall) -> str:
    """sha256 of the call's canonical JSON: the tool, its input and the working directory.
    The volatile fields (tool_use_id, session, agent) are left out, so asking again about
    the same call finds the same digest."""
    canonical = json.dumps(
        {"tool_name": call.tool_name, "tool_input": call.tool_input, "cwd": call.cwd},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def tool_verdict_give(
    *, worker: Worker, call: ToolCall, token: WorkerToken | None = None
) -> ToolVerdict:
    """Judges ``call`` under the policy in force and records the answer (returned)."""
    policy = policy_current(cached=True)
    reading = read_call(
        policy.tool_rules,
        policy.tool_default,
        tool_name=call.tool_name,
        tool_input=call.tool_input,
    )
    job = _claimed_job(worker, call.job)
    job_ref = job.external_id if job else ""
    resources = ladder.named_resources(job=job_ref, target=reading.target)
    digest = call_digest(call)
    now = timezone.now()
    spent = _spent(worker, job_ref, reading.action)
    verdict = ladder.judge(policy, action=reading.action, resources=resources, spent=spent)
    decision, reason, request = verdict.decision, verdict.reason, None
    # Only an escalated call reads and writes more than its log row: it alone needs a
    # transaction of its own (a savepoint inside the idempotency key's).
    with transaction.atomic() if decision == ladder.NEEDS_APPROVAL else nullcontext():
        if decision == ladder.NEEDS_APPROVAL:
            approved, pending = _requests_for(worker, digest, job)
            request = _approval_used(approved, call.tool_use_id, now)
            if request is not None:
                decision = ladder.ALLOWED
                reason = f"Approved in self-heal request #{request.pk}; allowed this once."
            else:
                request = _pending_request(
                    worker, call, reading, verdict, policy, job, digest, resources, now, pending
                )
        return ToolVerdict.objects.create(
            worker=worker,
            token=token,
            agent=call.agent,
            session_id=call.session_id[:200],
            tool_use_id=call.tool_use_id[:200],
            tool_name=call.tool_name[:200],
            tool_input=_stored_input(call.tool_input),
            cwd=redact_clipped(call.cwd, 1000),
            digest=digest,
            job_ref=job_ref,
            rule=reading.rule[:200],
            policy=policy,
            verdict=decision,
            action=reading.action,
            target=redact_clipped(reading.target, _TARGET_CHARS),
            reason=reason,
            self_heal_request=request,
        )


def _claimed_job(worker: Worker, external_id: str) -> Job | None:
    """The job the call is for: the one named (it must exist and the worker must hold it),
    else the one the worker holds (the newest claim), else None."""
    if external_id:
        job = _HELD_JOB_FIELDS.filter(external_id=external_id).first()
        if job is None:
            raise JobNotFound(
                gettext("No job %(job)s is registered.") % {"job": external_id}, job=external_id
            )
        job_holder_required(job, worker, gettext_lazy("asks for tool verdicts on it"))
        return job
    held_by = postgres.job_held_by if postgres.in_use() else job_held_by_orm
    return held_by(worker.pk)


_HELD_JOB_FIELDS = Job.objects.only("pk", "external_id", "claimed_by_id", "claimed_at")


def job_held_by_orm(worker_id: int) -> Job | None:
    """``repairs.postgres.job_held_by``'s twin, used on SQLite."""
    held = _HELD_JOB_FIELDS.filter(
        claimed_by_id=worker_id, status__in=[Job.Status.CLAIMED, Job.Status.STUCK]
    )
    return held.order_by("-claimed_at", "-pk").first()


def _spent(worker: Worker, job_ref: str, action: str) -> int:
    """The worker's allowed tool calls of a budgeted action on this job: the budget a retry
    or touch spends here is the one the ladder counts."""
    if action not in ladder.BUDGETED:
        return 0
    return ToolVerdict.objects.filter(
        worker=worker, job_ref=job_ref, action=action, verdict=ladder.ALLOWED
    ).count()


def _requests_for(
    worker: Worker, digest: str, job: Job | None
) -> tuple[list[SelfHealRequest], SelfHealRequest | None]:
    """In one query: the approved requests for this call bound to the worker's current
    claim (its job, claimed at the same moment), and the pending one, if any."""
    rows = SelfHealRequest.objects.select_related("event").filter(
        worker=worker, tool_digest=digest, status__in=[Status.APPROVED, Status.PENDING]
    )
    approved, pending = [], None
    for row in rows.order_by("pk"):
        if row.status == Status.PENDING:
            pending = row
        elif row.event.job_id == (job.pk if job else None) and row.claimed_at == (
            job.claimed_at if job else None
        ):
            approved.append(row)
    return approved, pending


def _approval_used(
    approved: list[SelfHealRequest], tool_use_id: str, now: datetime
) -> SelfHealRequest | None:
    """The approval that allows this call now, if any: one already used by this very
    ``tool_use_id`` (a hook asking twice about one call), or an unused, unexpired one,
    which this call uses up."""
    if tool_use_id:
        for request in approved:
            if request.consumed_by_tool_use_id == tool_use_id:
                return request
    for request in approved:
        if request.consumed_at is not None or request.expires_at <= now:
            continue
        # A conditional update: of two calls at once, one uses the approval.
        taken = SelfHealRequest.objects.filter(pk=request.pk, consumed_at__isnull=True).update(
            consumed_at=now, consumed_by_tool_use_id=tool_use_id[:200]
        )
        if taken:
            return request
    return None


def _pending_request(
    worker: Worker,
    call: ToolCall,
    reading: ToolReading,
    verdict: ladder.Verdict,
    policy: WorkerPolicy,
    job: Job | None,
    digest: str,
    resources: tuple[str, ...],
    now: datetime,
    pending: SelfHealRequest | None,
) -> SelfHealRequest:
    """The pending request for this call: the one already open, else a new one. One per
    worker and digest (a partial unique index), so two identical calls at once share it."""
    for attempt in range(2):
        if attempt:
            pending = SelfHealRequest.objects.filter(
                worker=worker, tool_digest=digest, status=Status.PENDING
            ).first()
        if pending is not None and pending.expires_at <= now:
            self_heal_request_expire(request=pending, now=now)
            pending = None
        if pending is not None:
            return pending
        try:
            with transaction.atomic():
                return _request_open(
                    worker, call, reading, verdict, policy, job, digest, resources, now
                )
        except IntegrityError:
            continue  # another call opened it first: read theirs
    raise RuntimeError(f"No pending self-heal request for {worker.name}'s call {digest}.")


def _request_open(
    worker: Worker,
    call: ToolCall,
    reading: ToolReading,
    verdict: ladder.Verdict,
    policy: WorkerPolicy,
    job: Job | None,
    digest: str,
    resources: tuple[str, ...],
    now: datetime,
) -> SelfHealRequest:
    """The tool-call event the request stands on, and the request, with its owner report."""
    shown = redact_clipped(f"{call.tool_name}: {_subject(call)}", 4000)
    event = RepairEvent.objects.create(
        worker=worker,
        job=job,
        job_ref=job.external_id if job else "",
        gate=Gate.TOOL_CALL,
        error_class="tool-call",
        fingerprint=fingerprint(Gate.TOOL_CALL, digest),
        action=reading.action,
        target=redact_clipped(reading.target, _TARGET_CHARS),
        message=shown,
        verdict=verdict.as_dict(),
        decision=verdict.decision,
        policy=policy,
        occurred_at=now,
    )
    return self_heal_request_open(
        event,
        verdict,
        policy,
        "",
        now,
        resources=[redact_clipped(name, _TARGET_CHARS) for name in resources],
        tool_digest=digest,
        claimed_at=job.claimed_at if job else None,
    )


def _subject(call: ToolCall) -> str:
    return subject_of(call.tool_input) or json.dumps(call.tool_input, sort_keys=True)[:1000]


def _stored_input(tool_input: dict[str, Any]) -> str:
    text = json.dumps(tool_input, sort_keys=True, ensure_ascii=False)
    return redact(text).text[:STORED_INPUT_CHARS]
