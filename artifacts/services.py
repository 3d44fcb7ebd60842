"""Every write to artifact gate checks, and the completion gate (DESIGN §2 ``artifact_guard``).

A worker submits a check (a row in ``pending``; Celery is asked after the commit); the task
runs it (``pending`` → ``running`` → ``passed`` | ``failed`` | ``error``), and the final
status is recorded as an ``artifact_guard`` repair event, with an owner report when it did
not pass, in the transaction that writes it. A job completes only if its latest check
passed.
"""

import logging
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from artifacts import metrics
from artifacts.exceptions import GuardNotPassed
from artifacts.fetch import PRIMARY, UPLOAD, Evidence, Limits, Target, fetch_all, scheme_refusal
from artifacts.models import ArtifactGateCheck
from artifacts.selectors import (
    artifact_check_latest,
    artifact_checks_stalled,
    artifact_checks_unsent,
)
from core import broker
from core.audience import later, speaking_to
from core.exceptions import DomainError
from core.retention import DEFAULT_BATCH, update_in_batches
from core.roles import PLS_OWNER
from notifications.services import report_enqueue
from repairs.exceptions import JobStateConflict
from repairs.models import Gate, Job, Worker
from repairs.services import job_holder_required, repair_event_report
from repairs.services.jobs import job_complete

logger = logging.getLogger(__name__)
Status = ArtifactGateCheck.Status
# A check may be submitted while its job is held: claimed, or stuck (its holder checks the
# artifact before asking to recover it).
SUBMITTABLE = (Job.Status.CLAIMED, Job.Status.STUCK)
# How many checks one sweep re-publishes; the next sweep takes the rest.
SWEEP_BATCH = 500


class UrlRefused(DomainError):
    """A URL the guard never fetches (not http or https); the API refuses it first."""

    type_slug = "artifact-url-refused"
    title = _("URL refused")


def artifact_check_submit(
    *, worker: Worker, job: Job, primary_url: str, upload_files: list[dict]
) -> ArtifactGateCheck:
    """Records a pending check of ``job``'s artifacts and asks Celery to run it once the
    row is committed (the beat sweep asks again if the broker was down).

    Only the job's holder submits, while the job is claimed or stuck. The job row is locked,
    so a check cannot appear while the completion gate reads the latest one.
    ``upload_files``: ``[{"url": ..., "sha256": ... (optional, hex)}]``.
    """
    uploads = [
        {"url": item["url"], **({"sha256": item["sha256"].lower()} if item.get("sha256") else {})}
        for item in upload_files
    ]
    for url in [primary_url, *(item["url"] for item in uploads)]:
        refusal = scheme_refusal(url)
        if refusal is not None:
            raise UrlRefused(f"{url}: {refusal}.", url=url)
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        job_holder_required(locked, worker, _("submits artifact checks for it"))
        if locked.status not in SUBMITTABLE:
            raise JobStateConflict(
                gettext(
                    "Job %(job)s is %(status)s; artifacts are checked while the job is claimed."
                )
                % {"job": locked.external_id, "status": locked.status},
                job=locked.external_id,
                job_status=locked.status,
            )
        check = ArtifactGateCheck.objects.create(
            job=locked, worker=worker, primary_url=primary_url, upload_files=uploads
        )
        transaction.on_commit(lambda: _publish([check.pk]))
    return check


def artifact_check_run(*, check_id: int) -> ArtifactGateCheck | None:
    """Runs a check: fetches every URL concurrently and records the verdict.

    Safe to run twice and concurrently: the run starts only by moving the check from
    ``pending`` (or from a ``running`` whose start is older than
    ``ARTIFACT_CHECK_STALE_SECONDS``: its worker was lost) to ``running``, and records its
    verdict only if no later run took the check over meanwhile. A final check is left
    alone. Returns the check as this run left it, or None when there was nothing to do.
    No transaction is open while the URLs are fetched.
    """
    started = _start(check_id)
    if started is None:
        return None
    check, attempt = started
    if attempt > settings.ARTIFACT_CHECK_MAX_ATTEMPTS:
        return _finish(
            check,
            attempt,
            Status.ERROR,
            reason=(
                f"gave up after {attempt - 1} attempts: the worker running the check was lost "
                "each time; submit a new check"
            ),
            error_class="artifact_check_error",
        )
    try:
        evidence = fetch_all(
            _targets(check), limits=Limits.from_settings(), threads=settings.ARTIFACT_FETCH_THREADS
        )
    except Exception as exc:
        # A bug, not the artifact's fault: recorded as ``error``, never left running.
        logger.exception("artifact check #%s failed unexpectedly", check.pk)
        return _finish(
            check,
            attempt,
            Status.ERROR,
            reason=f"the check itself failed ({type(exc).__name__}: {exc}); submit a new check",
            error_class="artifact_check_error",
        )
    failing = [item for item in evidence if not item.passed]
    if not failing:
        hashed = sum(1 for item in evidence if item.expected_sha256)
        return _finish(
            check,
            attempt,
            Status.PASSED,
            evidence=evidence,
            reason=(
                f"all {len(evidence)} URL(s) answered 200"
                + (f"; {hashed} sha256 hash(es) matched" if hashed else "")
            ),
            error_class="artifact_passed",
        )
    first = failing[0]
    more = f" (and {len(failing) - 1} more URL(s) failed)" if len(failing) > 1 else ""
    return _finish(
        check,
        attempt,
        Status.FAILED,
        evidence=evidence,
        reason=f"the {first.role} URL {first.url} {first.error}{more}",
        failing_url=first.url,
        error_class=first.error_class,
    )


def artifact_checks_sweep() -> int:
    """Beat's safety net: asks Celery again for pending checks whose task was probably never
    published (the broker was down), and for running checks whose worker was probably lost.
    Returns how many were asked for. A duplicate task is harmless: a run starts only once."""
    now = timezone.now()
    due = artifact_checks_unsent(
        created_before=now - timedelta(seconds=settings.ARTIFACT_CHECK_REPUBLISH_SECONDS),
        limit=SWEEP_BATCH,
    ) + artifact_checks_stalled(
        started_before=now - timedelta(seconds=settings.ARTIFACT_CHECK_STALE_SECONDS),
        limit=SWEEP_BATCH,
    )
    return _publish(due)


def artifact_guard_job_complete(*, job: Job, worker: Worker) -> Job:
    """Completes ``job`` for its holder if the job's latest artifact check passed.

    The job row stays locked from reading the latest check to completing, so no check can
    be submitted in between. A refusal raises ``GuardNotPassed`` (409 ``artifact_guard``)
    with the reason, and is recorded as an ``artifact_guard`` event with error class
    ``completion_blocked`` (so the scorecard counts blocked completions). A worker that does
    not hold the job gets the jobs service's ``NotHolder``.
    """
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        job_holder_required(locked, worker, _("completes it"))
        latest = artifact_check_latest(job=locked)
        refusal = _guard_refusal(locked, worker, latest)
        if refusal is None:
            return job_complete(job=locked, worker=worker)
        # The event's message is in the console's language whoever asked, so that repeats
        # share one fingerprint; the 409 is in the caller's.
        with speaking_to():
            recorded = _guard_refusal(locked, worker, latest) or refusal
    # After the lock is released: nothing was changed, and the record of the refusal must
    # outlive the 409.
    with transaction.atomic():
        repair_event_report(
            worker=worker,
            gate=Gate.ARTIFACT_GUARD,
            error_class="completion_blocked",
            job_ref=locked.external_id,
            phase="complete",
            message=f"Completion of {locked.external_id} refused: {recorded.detail}",
            evidence=_refusal_evidence(refusal),
            # Enforcement, not an error to repair: the failed check's own event already
            # counts towards its fingerprint's repair proposal.
            failure=False,
        )
    raise refusal


# --- Helpers -----------------------------------------------------------------------------------


def _publish(check_ids: list[int]) -> int:
    from artifacts.tasks import artifact_check_run as task

    return broker.publish(task, [[pk] for pk in check_ids])


def _targets(check: ArtifactGateCheck) -> list[Target]:
    return [Target(check.primary_url, PRIMARY)] + [
        Target(item["url"], UPLOAD, item.get("sha256")) for item in check.upload_files
    ]


def _start(check_id: int) -> tuple[ArtifactGateCheck, int] | None:
    """Moves the check to ``running`` for this run; returns it and the run's attempt number
    (its token: only the run holding the latest attempt may record a verdict)."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.ARTIFACT_CHECK_STALE_SECONDS)
    with transaction.atomic():
        check = (
            ArtifactGateCheck.objects.select_for_update(of=("self",))
            .select_related("job", "worker")
            .filter(pk=check_id)
            .first()
        )
        if check is None:
            return None
        stalled = check.status == Status.RUNNING and (
            check.started_at is None or check.started_at < stale_before
        )
        if check.status != Status.PENDING and not stalled:
            return None  # final, or running elsewhere
        if stalled:
            logger.warning(
                "artifact check #%s was running since %s; running it again",
                check.pk,
                check.started_at,
            )
        check.status = Status.RUNNING
        check.started_at = now
        check.attempts += 1
        check.save(update_fields=["status", "started_at", "attempts"])
    return check, check.attempts


def _finish(
    check: ArtifactGateCheck,
    attempt: int,
    status: str,
    *,
    reason: str,
    error_class: str,
    evidence: list[Evidence] | None = None,
    failing_url: str = "",
) -> ArtifactGateCheck | None:
    """Records the verdict, its event and (unless passed) the owner report in one
    transaction; does nothing if a later run has taken the check over."""
    results = [item.as_dict() for item in evidence or []]
    now = timezone.now()
    with transaction.atomic():
        updated = ArtifactGateCheck.objects.filter(
            pk=check.pk, status=Status.RUNNING, attempts=attempt
        ).update(
            status=status,
            results=results,
            reason=reason,
            failing_url=failing_url,
            finished_at=now,
        )
        if not updated:
            return None
        check.status, check.results, check.reason = status, results, reason
        check.failing_url, check.finished_at = failing_url, now
        _record(check, error_class, evidence or [])
        if check.started_at is not None:
            seconds = max((now - check.started_at).total_seconds(), 0.0)
            metrics.check_duration.labels(status=status).observe(seconds)
    return check


def _record(check: ArtifactGateCheck, error_class: str, evidence: list[Evidence]) -> None:
    worker, job = check.worker, check.job
    passed = check.status == Status.PASSED
    if passed:
        message = f"Artifact check #{check.pk} passed: {check.reason}."
    elif check.failing_url:
        first = next(item for item in evidence if not item.passed)
        host = urlsplit(first.url).hostname or first.url
        message = (
            f"Artifact check #{check.pk} failed: the {first.role} URL on {host} {first.error}."
        )
    else:
        message = f"Artifact check #{check.pk} could not run: {check.reason}."
    repair_event_report(
        worker=worker,
        gate=Gate.ARTIFACT_GUARD,
        error_class=error_class,
        job_ref=job.external_id,
        phase="artifact_check",
        message=message,
        evidence=_evidence_text(check, evidence),
        failure=not passed,
    )
    if passed:
        return
    report_enqueue(
        source=f"artifact_guard.{check.status}",
        title=later(
            _("Artifact check #%(id)s of %(job)s failed")
            if check.status == Status.FAILED
            else _("Artifact check #%(id)s of %(job)s could not run"),
            id=check.pk,
            job=job.external_id,
        ),
        status="warning",
        team=worker.team,
        worker=worker.name,
        task_id=job.external_id,
        progress=check.reason,
        next_step=later(
            _(
                "%(job)s cannot complete until a new check passes; %(worker)s fixes the "
                "artifact and submits one."
            ),
            job=job.external_id,
            worker=worker.name,
        ),
        role=PLS_OWNER,
        dedup_key=f"artifact_guard.{check.status}:{check.pk}",
        link=reverse("admin:artifacts_artifactgatecheck_change", args=[check.pk]),
    )


def _evidence_text(check: ArtifactGateCheck, evidence: list[Evidence]) -> str:
    lines = [f"artifact check #{check.pk} of {check.job.external_id}: {check.status}"]
    for item in evidence:
        hops = f" -> {item.final_url}" if item.redirects else ""
        digest = f" sha256={item.sha256}" if item.sha256 and item.expected_sha256 else ""
        verdict = "passed" if item.passed else f"FAILED: {item.error}"
        lines.append(
            f"{item.role} {item.status_code or '-'} {item.url}{hops} "
            f"{item.latency_ms if item.latency_ms is not None else '-'} ms "
            f"{item.bytes_read}{'+' if item.truncated else ''} bytes "
            f"{item.content_type or '-'}{digest} {verdict}"
        )
    if not evidence:
        lines.append(check.reason)
    return "\n".join(lines)


def _guard_refusal(
    job: Job, worker: Worker, latest: ArtifactGateCheck | None
) -> GuardNotPassed | None:
    """Why the job may not complete, or None when its latest check passed."""
    if latest is None:
        return GuardNotPassed(
            gettext(
                "Job %(job)s has no artifact check; submit one (POST "
                "/api/v1/artifact-gate-checks) and complete once it has passed."
            )
            % {"job": job.external_id},
            guard="no_check",
            job=job.external_id,
            check=None,
            reason="no artifact check",
            failing_url=None,
        )
    common = {"job": job.external_id, "check": latest.pk, "check_status": latest.status}
    if latest.worker_id != worker.pk:
        return GuardNotPassed(
            gettext(
                "The latest artifact check of %(job)s (#%(check)s) was submitted by %(worker)s, "
                "a previous holder; submit a check of your own."
            )
            % {"job": job.external_id, "check": latest.pk, "worker": latest.worker.name},
            guard="other_worker",
            reason="the latest check is a previous holder's",
            failing_url=None,
            **common,
        )
    if latest.status in (Status.PENDING, Status.RUNNING):
        return GuardNotPassed(
            gettext(
                "The latest artifact check of %(job)s (#%(check)s) is still %(status)s; poll "
                "GET /api/v1/artifact-gate-checks/%(check)s and complete once it has passed."
            )
            % {"job": job.external_id, "check": latest.pk, "status": latest.status},
            guard=latest.status,
            reason=f"the check is {latest.status}",
            failing_url=None,
            **common,
        )
    if latest.status == Status.FAILED:
        return GuardNotPassed(
            gettext(
                "The latest artifact check of %(job)s (#%(check)s) failed: %(reason)s. Fix the "
                "artifact and submit a new check."
            )
            % {"job": job.external_id, "check": latest.pk, "reason": latest.reason},
            guard="failed",
            reason=latest.reason,
            failing_url=latest.failing_url,
            **common,
        )
    if latest.status == Status.ERROR:
        return GuardNotPassed(
            gettext("The latest artifact check of %(job)s (#%(check)s) could not run: %(reason)s.")
            % {"job": job.external_id, "check": latest.pk, "reason": latest.reason},
            guard="error",
            reason=latest.reason,
            failing_url=None,
            **common,
        )
    return None


def _refusal_evidence(refusal: GuardNotPassed) -> str:
    return "\n".join(f"{key}: {value}" for key, value in refusal.extra.items())


def artifact_check_bodies_purge(*, cutoff: datetime, batch_size: int = DEFAULT_BATCH) -> int:
    """Empties the per-URL results and the upload list of finished checks created before
    ``cutoff`` (retention's ``check_bodies``); returns how many checks were emptied.

    The check itself stays, with its status, reason, failing URL and times: the completion
    gate, the milestones and the scorecard read those, never the bodies.
    """
    return update_in_batches(
        ArtifactGateCheck.objects.filter(
            status__in=ArtifactGateCheck.FINAL,
            created_at__lt=cutoff,
            bodies_purged_at__isnull=True,
        ),
        batch_size=batch_size,
        results=[],
        upload_files=[],
        bodies_purged_at=timezone.now(),
    )
