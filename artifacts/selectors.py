"""Queries the API, the admin, the completion gate and the sweep share."""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from artifacts.models import ArtifactGateCheck
from repairs.models import Job
from repairs.selectors import worker_for_user

Status = ArtifactGateCheck.Status


def artifact_check_list(*, user: AbstractBaseUser) -> QuerySet[ArtifactGateCheck]:
    """Checks the user may read: a worker sees its own, people with the view right see all
    (the caller checks the right)."""
    checks = ArtifactGateCheck.objects.select_related("job", "worker")
    worker = worker_for_user(user)
    return checks if worker is None else checks.filter(worker=worker)


def artifact_check_latest(*, job: Job) -> ArtifactGateCheck | None:
    """The job's newest check, whatever its status: the one the completion gate judges."""
    return (
        ArtifactGateCheck.objects.select_related("worker")
        .filter(job=job)
        .order_by("-created_at", "-id")
        .first()
    )


def artifact_checks_unsent(*, created_before: datetime, limit: int) -> list[int]:
    """Pending checks older than ``created_before``, oldest first: their task was probably
    never published (the broker was down when they were submitted)."""
    return list(
        ArtifactGateCheck.objects.filter(status=Status.PENDING, created_at__lt=created_before)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def artifact_checks_stalled(*, started_before: datetime, limit: int) -> list[int]:
    """Running checks started before ``started_before``: their worker was probably lost."""
    return list(
        ArtifactGateCheck.objects.filter(status=Status.RUNNING, started_at__lt=started_before)
        .order_by("started_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
