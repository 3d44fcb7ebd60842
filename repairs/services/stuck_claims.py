"""Stuck claims (DESIGN §2 ``stuck_claim``): the watchdog that turns an expired lease into
a recorded stuck claim, and the runbook's recovery steps — ``release`` and ``reclaim`` —
which the policy ladder judges like any worker action (DESIGN §3).

The same locking rules as ``repairs.services.jobs`` hold: job row first, then worker.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audience import later
from notifications.services import report_enqueue
from policies import ladder
from policies.selectors import policy_current
from repairs.exceptions import JobStateConflict, PolicyDenied
from repairs.models import Gate, Job, RepairEvent, SelfHealRequest, Worker, WorkerToken
from repairs.services.events import repair_event_report
from repairs.services.jobs import (
    HELD,
    LEASE_EXPIRED,
    RECOVERY_HINT,
    JobStatus,
    WorkerStatus,
    _job_locked,
    _let_go,
    _refuse_claim,
    _refuse_if_paused,
    _take_over,
    job_holder_required,
)

# The actions of the stuck-claim runbook that the policy governs and an approval carries out.
RELEASE, RECLAIM = "release", "reclaim"


@dataclass(frozen=True)
class JobAction:
    """What became of a worker's ``release`` or ``reclaim``: the event carrying the policy's
    verdict, and either the job after the action (allowed) or the self-heal request the
    worker polls (needs approval)."""

    job: Job
    event: RepairEvent
    request: SelfHealRequest | None

    @property
    def done(self) -> bool:
        return self.event.decision == ladder.ALLOWED


# --- Release and reclaim: through the policy ladder --------------------------------------------


def job_release(
    *,
    worker: Worker,
    external_id: str,
    message: str = "",
    evidence: str = "",
    token: WorkerToken | None = None,
    callback_url: str = "",
) -> JobAction:
    """The holder asks to give its job back (claimed or stuck). The policy judges the
    ``release``: allowed, it happens now; needing approval, a self-heal request is opened
    (or the pending one returned) and the release happens when it is approved; denied,
    ``PolicyDenied`` is raised after the event is stored."""
    now = timezone.now()
    with transaction.atomic():
        job = _job_locked(external_id)
        job_holder_required(job, worker, gettext_lazy("releases it"))
        if job.status not in HELD:
            raise JobStateConflict(
                _("Job %(job)s is %(status)s; only a claimed or stuck job is released.")
                % {"job": job.external_id, "status": job.status},
                job=job.external_id,
                job_status=job.status,
            )
        action = _judged(
            job=job,
            worker=worker,
            action=RELEASE,
            error_class=LEASE_EXPIRED if job.status == JobStatus.STUCK else "release_requested",
            message=message or f"The holder asks to release the job ({job.status}).",
            evidence=evidence,
            token=token,
            callback_url=callback_url,
            now=now,
        )
        if action.done:
            _let_go(job, worker)
    return _denied_raises(action)


def job_reclaim(
    *,
    worker: Worker,
    external_id: str,
    message: str = "",
    evidence: str = "",
    token: WorkerToken | None = None,
    callback_url: str = "",
) -> JobAction:
    """A worker asks to take over a stuck job, or a claimed one whose lease expired (its own
    or another worker's). The policy judges the ``reclaim`` as it judges a release."""
    now = timezone.now()
    with transaction.atomic():
        job = _job_locked(external_id)
        _refuse_if_paused(worker)
        if not _reclaimable(job, now):
            if job.status == JobStatus.CLAIMED and not job.is_held_by(worker):
                _refuse_claim(job, worker, now)
            raise JobStateConflict(
                (
                    _("Job %(job)s is %(status)s and its lease runs; heartbeat instead.")
                    if job.status == JobStatus.CLAIMED
                    else _("Job %(job)s is %(status)s; claim it instead.")
                    if job.status == JobStatus.OPEN
                    else _("Job %(job)s is %(status)s.")
                )
                % {"job": job.external_id, "status": job.status},
                job=job.external_id,
                job_status=job.status,
            )
        action = _judged(
            job=job,
            worker=worker,
            action=RECLAIM,
            error_class=LEASE_EXPIRED,
            message=message or "Asks to reclaim a job whose lease expired.",
            evidence=evidence,
            token=token,
            callback_url=callback_url,
            now=now,
        )
        if action.done:
            _take_over(job, worker, now)
    return _denied_raises(action)


def job_self_heal_carry_out(*, request: SelfHealRequest) -> str:
    """Carries out an approved ``release`` or ``reclaim`` in the approval's transaction and
    says what happened ("" for other actions).

    It acts on the request's job only if the request named that job among its resources
    (the approver approved those, nothing else), and only while the policy in force does
    not deny acting on them (a pattern added since, or the floor). The job may also have
    moved on while the request waited (completed, taken by someone else). In each case
    nothing is done and the owner is told why; the approval itself stands.
    """
    if request.action not in (RELEASE, RECLAIM):
        return ""
    now = timezone.now()
    worker = request.worker
    job_ref = request.event.job_ref
    verdict = ladder.judge(
        policy_current(cached=True), action=request.action, resources=request.resources
    )
    job = Job.objects.select_for_update().filter(external_id=job_ref).first()
    # Why nothing was done, read in each channel's language (core.audience.later).
    why: str | Promise
    if not job_ref or not request.touches(job_ref):
        why = later(
            gettext_lazy(
                "the request named %(named)s, not the job %(job)s; an approval acts on what it "
                "names only"
            ),
            named=request.resources_shown or gettext_lazy("no resource"),
            job=job_ref or "-",
        )
    elif verdict.decision == ladder.DENIED:
        why = later(
            gettext_lazy("the policy in force denies it now: %(reason)s"), reason=verdict.reason
        )
    elif job is None:
        why = later(gettext_lazy("no job %(job)s is registered"), job=job_ref)
    elif request.action == RELEASE:
        if job.is_held_by(worker) and job.status in HELD:
            _let_go(job, worker)
            return f"released {job.external_id}"
        why = later(
            gettext_lazy("%(worker)s no longer holds %(job)s (%(status)s)"),
            worker=worker.name,
            job=job.external_id,
            status=job.status,
        )
    else:
        paused = Worker.objects.filter(pk=worker.pk, status=WorkerStatus.PAUSED).exists()
        if _reclaimable(job, now) and not paused:
            _take_over(job, worker, now)
            return f"reclaimed {job.external_id}"
        why = (
            later(gettext_lazy("%(worker)s is paused"), worker=worker.name)
            if paused
            else later(
                gettext_lazy("%(job)s is %(status)s and no longer waits to be reclaimed"),
                job=job.external_id,
                status=job.status,
            )
        )
    report_enqueue(
        source="job.self_heal_not_carried_out",
        title=later(
            gettext_lazy("Approved %(action)s of %(job)s by %(worker)s was not carried out"),
            action=request.action,
            job=job_ref,
            worker=worker.name,
        ),
        status="normal",
        team=worker.team,
        worker=worker.name,
        task_id=job_ref,
        progress=why,
        next_step=gettext_lazy(
            "Nothing to do unless the job still needs recovery; the worker may ask again."
        ),
        dedup_key=f"job.self_heal_not_carried_out:{request.pk}",
        link=reverse("admin:repairs_selfhealrequest_change", args=[request.pk]),
    )
    return f"not carried out: {why}"


# Pending requests of one worker, job and action looked through for one naming the same
# resources: there is normally one, but requests opened before resources were recorded
# (issue 12's decoys) may sit beside it.
_PENDING_LOOKED_AT = 10


def _judged(
    *,
    job: Job,
    worker: Worker,
    action: str,
    error_class: str,
    message: str,
    evidence: str,
    token: WorkerToken | None,
    callback_url: str,
    now: datetime,
) -> JobAction:
    """The policy's verdict on ``action`` on ``job``, as an event (and self-heal request)
    recorded the way every worker action is.

    The job is judged afresh every time. Only while that judgement still needs approval is
    a request pending for the same job, action and resources returned instead of a second
    one, so a worker that asks again while it waits does not queue duplicates for the
    approver. A pending request that named anything else never stands in: it was (or will
    be) approved for what it named, not for this job.
    """
    resources = [job.external_id]
    fresh = ladder.judge(policy_current(cached=True), action=action, resources=resources)
    if fresh.decision == ladder.NEEDS_APPROVAL:
        pending = (
            SelfHealRequest.objects.select_related("event")
            .filter(
                worker=worker,
                action=action,
                status=SelfHealRequest.Status.PENDING,
                expires_at__gt=now,
                event__job_ref=job.external_id,
            )
            .order_by("-created_at")
        )
        for request in pending[:_PENDING_LOOKED_AT]:
            if request.resources == resources:
                return JobAction(job, request.event, request)
    event = repair_event_report(
        worker=worker,
        gate=Gate.STUCK_CLAIM,
        error_class=error_class,
        job_ref=job.external_id,
        phase=action,
        action=action,
        message=message,
        evidence=evidence or _claim_evidence(job),
        token=token,
        callback_url=callback_url,
        # Asking for a recovery step is not a new failure: the stuck claim that caused it
        # was recorded already, and it must not count towards a repair proposal.
        failure=False,
    ).event
    approval = None
    if event.decision == ladder.NEEDS_APPROVAL:
        approval = SelfHealRequest.objects.get(event=event)
    return JobAction(job, event, approval)


def _denied_raises(action: JobAction) -> JobAction:
    """Raised after the transaction, so the denied event stays on record."""
    if action.event.decision == ladder.DENIED:
        verdict = action.event.verdict
        assert verdict is not None  # the decision is the verdict's: an event has both or neither
        raise PolicyDenied(
            verdict["reason"],
            job=action.job.external_id,
            event=action.event.pk,
            verdict=action.event.verdict,
        )
    return action


def _reclaimable(job: Job, now: datetime) -> bool:
    """Stuck, or claimed with a lease that ran out before the watchdog noticed."""
    if job.status == JobStatus.STUCK:
        return True
    return (
        job.status == JobStatus.CLAIMED
        and job.lease_expires_at is not None
        and job.lease_expires_at <= now
    )


# --- The stuck-claim watchdog ------------------------------------------------------------------


def job_stuck_claims_detect(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Marks every claimed job whose lease expired without a heartbeat ``stuck``, one
    transaction per job, and returns how many it marked.

    For each: a ``stuck_claim`` event (``lease_expired``, the last progress as evidence)
    judged and counted like any report, the holder in ``error`` and an owner report. The
    mark is a conditional UPDATE on the old status and lease, so a heartbeat that lands
    first wins and two watchdogs at once record each stuck claim once.
    """
    now = now or timezone.now()
    limit = limit or settings.PLS_STUCK_CLAIM_BATCH
    due = list(
        Job.objects.filter(status=JobStatus.CLAIMED, lease_expires_at__lte=now)
        .order_by("lease_expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    marked = 0
    for pk in due:
        with transaction.atomic():
            won = Job.objects.filter(
                pk=pk, status=JobStatus.CLAIMED, lease_expires_at__lte=now
            ).update(status=JobStatus.STUCK, stuck_at=now, updated_at=now)
            if not won:
                continue
            _stuck_claim_record(Job.objects.select_related("claimed_by").get(pk=pk), now)
        marked += 1
    return marked


def _stuck_claim_record(job: Job, now: datetime) -> None:
    worker = job.claimed_by
    # The watchdog marks only claimed jobs, and a claim always names its holder.
    assert worker is not None, f"claimed job {job.external_id} has no holder"
    event = repair_event_report(
        worker=worker,
        gate=Gate.STUCK_CLAIM,
        error_class=LEASE_EXPIRED,
        job_ref=job.external_id,
        phase="lease",
        # Ids and times live in the evidence, so every expiry shares one fingerprint.
        message="The claim's lease expired without a heartbeat.",
        evidence=_claim_evidence(job),
        occurred_at=now,
    ).event
    Worker.objects.filter(pk=worker.pk).exclude(status=WorkerStatus.PAUSED).update(
        status=WorkerStatus.ERROR
    )
    report_enqueue(
        source="job.stuck",
        title=later(
            gettext_lazy("%(worker)s is stuck on %(job)s: lease expired without heartbeat"),
            worker=worker.name,
            job=job.external_id,
        ),
        status="critical" if job.priority == Job.Priority.HIGH else "warning",
        team=worker.team,
        worker=worker.name,
        task_id=job.external_id,
        progress=job.progress or gettext_lazy("(no progress reported)"),
        next_step=later(
            gettext_lazy("Stuck-claim event #%(event)s. %(hint)s"),
            event=event.pk,
            hint=RECOVERY_HINT,
        ),
        dedup_key=f"job.stuck:{job.pk}:{now.isoformat()}",
        # An outage strands many claims at once: they reach the owner as one grouped message.
        error_class=LEASE_EXPIRED,
        link=reverse("admin:repairs_job_change", args=[job.pk]),
    )


def _claim_evidence(job: Job) -> str:
    def at(moment: datetime | None) -> str:
        return moment.isoformat() if moment else "-"

    return (
        f"last progress: {job.progress or '(none reported)'}\n"
        f"job: {job.external_id} ({job.priority}), attempt {job.attempts}\n"
        f"claimed_at: {at(job.claimed_at)}\n"
        f"lease_expires_at: {at(job.lease_expires_at)}\n"
        f"stuck_at: {at(job.stuck_at)}"
    )
