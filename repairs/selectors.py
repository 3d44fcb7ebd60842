"""Queries the API, the admin and the dashboards share."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from repairs.models import RepairEvent, Worker


def worker_for_user(user: AbstractBaseUser) -> Worker | None:
    """The worker a request acts as, or None for a person."""
    try:
        return user.worker  # type: ignore[attr-defined]
    except Worker.DoesNotExist:
        return None


def repair_event_list(*, user: AbstractBaseUser) -> QuerySet[RepairEvent]:
    """Events the user may read: a worker sees its own, people with the view right see all."""
    events = RepairEvent.objects.select_related("worker")
    worker = worker_for_user(user)
    if worker is not None:
        return events.filter(worker=worker)
    return events
