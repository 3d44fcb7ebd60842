"""Jobs, claims and leases: who works on what, and until when. What happens when a claim
goes quiet (the watchdog, release and reclaim) is in ``repairs.services.stuck_claims``.

Every transition locks the job row (``select_for_update`` in ``atomic``) or changes it with a
conditional UPDATE on its old status. Locks are always taken job first, then worker, so
claims, heartbeats, the watchdog and approvals never wait on each other in a circle.
"""

import contextlib
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from core.audit import ADDITION, audit_record, said
from core.clock import when
from core.redaction import redact_clipped
from repairs import postgres
from repairs.exceptions import (
    JobAlreadyExists,
    JobHeld,
    JobNotFound,
    JobStateConflict,
    NotHolder,
    OutcomeAlreadyRecorded,
    WorkerPaused,
)
from repairs.models import Gate, Job, RepairEvent, Worker, WorkerToken
from repairs.services.events import max_chars, repair_event_report, repair_event_resolve

JobStatus = Job.Status
WorkerStatus = Worker.Status
# Jobs that still tie their holder to them: a worker holding none is idle.
HELD = (JobStatus.CLAIMED, JobStatus.STUCK)
LEASE_EXPIRED = "lease_expired"
CLAIM_WITHOUT_JOB = "claim_without_job"
# The fix a stuck claim's events record when a claim of the released job recovers it.
REQUEUED_FIX = "release, then re-claim"
PROGRESS_MAX_CHARS = 4000
_TITLE_MAX_CHARS = max_chars(Job, "title")
RECOVERY_HINT = gettext_lazy(
    "Recover it by the runbook: its holder releases it, then it is claimed again (or another "
    "worker reclaims it); the policy governs each step."
)


# --- Registering ------------------------------------------------------------------------------


def job_create(
    *,
    external_id: str,
    title: str,
    priority: str = Job.Priority.MEDIUM,
    by: AbstractBaseUser | None = None,
) -> Job:
    """Registers a job in the queue, open. An external id is registered once.

    The title is redacted first: a token may register jobs, and whoever reads the queue
    sees the title. ``by``: the person registering it (audited), or the system token."""
    title = redact_clipped(title, _TITLE_MAX_CHARS)
    try:
        with transaction.atomic():
            job = Job.objects.create(external_id=external_id, title=title, priority=priority)
            audit_record(
                user=by,
                obj=job,
                action_flag=ADDITION,
                message=said(gettext_noop("Registered job %(job)s."), job=external_id),
            )
            return job
    except IntegrityError:
        if not Job.objects.filter(external_id=external_id).exists():
            raise
        raise JobAlreadyExists(
            _("Job %(job)s is already registered.") % {"job": external_id}, job=external_id
        ) from None


# --- Claims -----------------------------------------------------------------------------------


def job_claim_next(*, worker: Worker) -> Job | None:
    """Leases the oldest open job of the highest priority to ``worker``; None when the queue
    is empty; ``WorkerPaused`` while the worker is paused.

    Concurrent callers skip rows another caller has locked (``FOR UPDATE SKIP LOCKED`` on
    PostgreSQL), so each job goes to exactly one of them and none waits for another. The
    ORDER BY matches the partial index ``job_open_queue``.
    """
    now = timezone.now()
    claim = _claim_next_in_one_statement if postgres.in_use() else job_claim_next_by_orm
    job = claim(worker, now)
    if job is None:
        _refuse_if_paused(worker)
    return job


def job_claim_next_by_orm(worker: Worker, now: datetime) -> Job | None:
    """The ORM twin of ``postgres.job_claim_next``: the same lease in a transaction of five
    statements (BEGIN, SELECT, two UPDATEs, COMMIT) instead of one; None for an empty queue
    or a paused worker (which takes nothing)."""
    with transaction.atomic():
        job = (
            Job.objects.select_for_update(skip_locked=True)
            .filter(status=JobStatus.OPEN)
            .order_by("priority_rank", "created_at", "id")
            .first()
        )
        if job is None or not _worker_started(worker, now):
            return None
        _take(job, worker, now, fix=REQUEUED_FIX)
    return job


def _claim_next_in_one_statement(worker: Worker, now: datetime) -> Job | None:
    job = postgres.job_claim_next(
        worker_id=worker.pk, now=now, lease_expires_at=now + settings.PLS_JOB_LEASE
    )
    if job is None:
        return None  # an empty queue, or a paused worker (which took nothing)
    job.claimed_by = worker
    if job.stuck_at is not None:
        # A released stuck job: this claim recovers it (rare, so it may take a transaction).
        with transaction.atomic():
            Job.objects.filter(pk=job.pk).update(stuck_at=None)
            _stuck_claims_resolve(job, worker, REQUEUED_FIX)
        job.stuck_at = None
    return job


def job_claim(*, worker: Worker, external_id: str, token: WorkerToken | None = None) -> Job:
    """Leases one job to ``worker``. The holder claiming again renews its lease.

    Refused while another worker's lease runs (``JobHeld``) and for a stuck or completed
    job (``JobStateConflict``). A claim of a job nobody registered is itself a stuck claim
    (the "claim with no job" trigger): it is recorded as a ``stuck_claim`` event and
    answered with ``JobNotFound`` naming that event.
    """
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(external_id=external_id).first()
        if job is None:
            _refuse_if_paused(worker)
        else:
            # First, so a paused worker hears why before anything about the job.
            _worker_start(worker, now)
            if job.status == JobStatus.CLAIMED and job.is_held_by(worker):
                job.lease_expires_at = now + settings.PLS_JOB_LEASE
                job.save(update_fields=["lease_expires_at", "updated_at"])
            elif job.status == JobStatus.OPEN:
                _take(job, worker, now, fix=REQUEUED_FIX)
            else:
                _refuse_claim(job, worker, now)
    if job is None:
        event = _claim_without_job_record(worker=worker, external_id=external_id, token=token)
        raise JobNotFound(
            _(
                "No job %(job)s is registered; the claim was recorded as stuck_claim event "
                "#%(event)s (%(error_class)s)."
            )
            % {"job": external_id, "event": event.pk, "error_class": CLAIM_WITHOUT_JOB},
            job=external_id,
            event=event.pk,
            gate=Gate.STUCK_CLAIM,
            error_class=CLAIM_WITHOUT_JOB,
        )
    return job


def _claim_without_job_record(
    *, worker: Worker, external_id: str, token: WorkerToken | None = None
) -> RepairEvent:
    return repair_event_report(
        worker=worker,
        gate=Gate.STUCK_CLAIM,
        error_class=CLAIM_WITHOUT_JOB,
        job_ref=external_id,
        phase="claim",
        # The job id stays out of the message, so every claim without a job shares one
        # fingerprint and repeats raise one repair proposal.
        message="Claimed a job that is not registered.",
        evidence=f"POST /api/v1/jobs/{external_id}/claim -> 404 (no such job)",
        token=token,
    ).event


def _refuse_claim(job: Job, worker: Worker, now: datetime) -> None:
    if job.status == JobStatus.COMPLETED:
        raise JobStateConflict(
            _("Job %(job)s is completed.") % {"job": job.external_id},
            job=job.external_id,
            job_status=job.status,
        )
    if job.status == JobStatus.STUCK:
        raise JobStateConflict(
            _("Job %(job)s is stuck (since %(since)s). %(hint)s")
            % {
                "job": job.external_id,
                "since": when(job.stuck_at, seconds=True),
                "hint": RECOVERY_HINT,
            },
            job=job.external_id,
            job_status=job.status,
        )
    expired = job.lease_expires_at is not None and job.lease_expires_at <= now
    raise JobHeld(
        (
            _(
                "Job %(job)s is held by another worker; its lease has expired, so taking it is "
                "a reclaim, which the policy governs."
            )
            if expired
            else _("Job %(job)s is held by another worker until %(until)s.")
        )
        % {"job": job.external_id, "until": when(job.lease_expires_at, seconds=True)},
        job=job.external_id,
        holder=job.claimed_by.name if job.claimed_by is not None else None,
        lease_expires_at=job.lease_expires_at.isoformat() if job.lease_expires_at else None,
    )


def job_heartbeat(*, worker: Worker, external_id: str, progress: str | None = None) -> Job:
    """The holder renews its lease and, if given, records its progress (redacted)."""
    now = timezone.now()
    with transaction.atomic():
        job = _job_locked(external_id)
        job_holder_required(job, worker, gettext_lazy("heartbeats it"))
        if job.status != JobStatus.CLAIMED:
            raise JobStateConflict(
                (
                    _("Job %(job)s is %(status)s; a heartbeat cannot renew it. %(hint)s")
                    if job.status == JobStatus.STUCK
                    else _("Job %(job)s is %(status)s; a heartbeat cannot renew it.")
                )
                % {"job": job.external_id, "status": job.status, "hint": RECOVERY_HINT},
                job=job.external_id,
                job_status=job.status,
            )
        job.lease_expires_at = now + settings.PLS_JOB_LEASE
        fields = ["lease_expires_at", "updated_at"]
        if progress is not None:
            job.progress = redact_clipped(progress, PROGRESS_MAX_CHARS)
            fields.append("progress")
        job.save(update_fields=fields)
        Worker.objects.filter(pk=worker.pk).update(last_heartbeat_at=now)
    return job


def job_complete(*, job: Job, worker: Worker) -> Job:
    """Marks ``worker``'s claimed job completed and frees the worker when it holds nothing
    else. The caller (the completion gate) has checked the artifact guard.

    Only the holder completes, and only a claimed job: a stuck one is recovered first (the
    ``stuck_claim`` gate never allows a hard complete). Completing again is answered with
    the completed job, so a retried request is harmless.
    """
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        job_holder_required(locked, worker, gettext_lazy("completes it"))
        if locked.status == JobStatus.COMPLETED:
            return locked
        if locked.status != JobStatus.CLAIMED:
            raise JobStateConflict(
                _("Job %(job)s is %(status)s; it cannot be completed. %(hint)s")
                % {"job": locked.external_id, "status": locked.status, "hint": RECOVERY_HINT},
                job=locked.external_id,
                job_status=locked.status,
            )
        locked.status = JobStatus.COMPLETED
        locked.completed_at = timezone.now()
        locked.lease_expires_at = None
        locked.save(update_fields=["status", "completed_at", "lease_expires_at", "updated_at"])
        _worker_settle(worker)
    return locked


# --- Shared steps -------------------------------------------------------------------------------


def _job_locked(external_id: str) -> Job:
    job = (
        # Only the job row is locked: the holder may be none (an outer join).
        Job.objects.select_for_update(of=("self",))
        .select_related("claimed_by")
        .filter(external_id=external_id)
        .first()
    )
    if job is None:
        raise JobNotFound(
            _("No job %(job)s is registered.") % {"job": external_id}, job=external_id
        )
    return job


def job_holder_required(job: Job, worker: Worker, doing: str | Promise) -> None:
    """``NotHolder`` unless ``worker`` holds ``job``: the one answer a non-holder reads,
    whichever service it called (``doing``: "heartbeats it", "completes it", …)."""
    if not job.is_held_by(worker):
        raise NotHolder(
            _("%(worker)s does not hold job %(job)s; only its holder %(doing)s.")
            % {"worker": worker.name, "job": job.external_id, "doing": doing},
            job=job.external_id,
        )


def _refuse_if_paused(worker: Worker) -> None:
    status, reason = Worker.objects.filter(pk=worker.pk).values_list("status", "paused_reason")[0]
    if status == WorkerStatus.PAUSED:
        raise _paused(worker, reason)


def _paused(worker: Worker, reason: str) -> WorkerPaused:
    return WorkerPaused(
        _("%(worker)s is paused: %(reason)s. It takes no new work until its owner resumes it.")
        % {"worker": worker.name, "reason": (reason or _("paused by its owner")).rstrip(".")},
        paused_reason=reason,
    )


def _worker_start(worker: Worker, now: datetime) -> None:
    """The worker is running from its claim on, unless it is paused (refused, 423)."""
    if not _worker_started(worker, now):
        _refuse_if_paused(worker)


def _worker_started(worker: Worker, now: datetime) -> bool:
    """Marks the worker running unless it is paused; whether it did. One conditional UPDATE
    both checks and sets, and orders this claim with a concurrent pause (which locks the
    same row)."""
    started = (
        Worker.objects.filter(pk=worker.pk)
        .exclude(status=WorkerStatus.PAUSED)
        .update(status=WorkerStatus.RUNNING, last_heartbeat_at=now)
    )
    return bool(started)


def _take(job: Job, worker: Worker, now: datetime, *, fix: str) -> None:
    """Leases ``job`` to ``worker``. A job that was stuck is recovered by this claim: its
    open stuck-claim events are resolved, which feeds the learning memory."""
    was_stuck = job.stuck_at is not None
    job.status = JobStatus.CLAIMED
    job.claimed_by = worker
    job.claimed_at = now
    job.lease_expires_at = now + settings.PLS_JOB_LEASE
    job.attempts += 1
    job.progress = ""
    job.stuck_at = None
    job.save(
        update_fields=[
            "status",
            "claimed_by",
            "claimed_at",
            "lease_expires_at",
            "attempts",
            "progress",
            "stuck_at",
            "updated_at",
        ]
    )
    if was_stuck:
        _stuck_claims_resolve(job, worker, fix)


def _take_over(job: Job, worker: Worker, now: datetime) -> None:
    """A reclaim: ``worker`` becomes the holder; the one it replaces is settled."""
    before = job.claimed_by
    _worker_start(worker, now)
    if job.stuck_at is None:
        # Lease expired before the watchdog marked it: still a stuck claim being recovered.
        job.stuck_at = now
    _take(job, worker, now, fix="reclaim")
    if before is not None and before.pk != worker.pk:
        _worker_settle(before)


def _let_go(job: Job, worker: Worker) -> None:
    """A release: the job is open again. ``stuck_at`` stays, so the claim that picks it up
    next resolves the stuck claim."""
    job.status = JobStatus.OPEN
    job.claimed_by = None
    job.claimed_at = None
    job.lease_expires_at = None
    job.save(update_fields=["status", "claimed_by", "claimed_at", "lease_expires_at", "updated_at"])
    _worker_settle(worker)


def _stuck_claims_resolve(job: Job, worker: Worker, fix: str) -> None:
    open_events = RepairEvent.objects.filter(job=job, gate=Gate.STUCK_CLAIM, outcome="").order_by(
        "pk"
    )
    for event in open_events:
        # Someone (the worker, the owner) may have recorded its outcome meanwhile; theirs
        # stands, and the claim goes on.
        with contextlib.suppress(OutcomeAlreadyRecorded):
            repair_event_resolve(
                event=event,
                outcome="resolved",
                by=worker.user,
                lesson=(
                    "A claim whose lease expires without a heartbeat is recovered by the runbook: "
                    "release the job, then claim it again (or reclaim it), each step approved as "
                    "the policy says. Heartbeat well inside the lease."
                ),
                fix=fix,
            )


def _worker_settle(worker: Worker) -> None:
    """A worker that holds no claimed or stuck job any more is idle (a paused one stays
    paused: only its owner resumes it). Call inside the transaction that let the job go."""
    if Job.objects.filter(claimed_by=worker, status__in=HELD).exists():
        return
    Worker.objects.filter(
        pk=worker.pk, status__in=[WorkerStatus.RUNNING, WorkerStatus.ERROR]
    ).update(status=WorkerStatus.IDLE)
