"""Queries the API, the console and the ingest path share."""

import time

from django.conf import settings
from django.db.models import QuerySet

from policies.models import PolicyDecision, Proposal, WorkerPolicy

_current: tuple[float, WorkerPolicy] | None = None


def policy_current(*, cached: bool = False) -> WorkerPolicy:
    """The policy in force: the newest version.

    With ``cached`` (the ingest path: every verdict needs it) a process keeps it for
    ``PLS_POLICY_CACHE_SECONDS``; a change made in this process is seen at once
    (``policy_forget``), other processes see it within that many seconds. Everything a
    person reads or changes asks the database.
    """
    global _current
    ttl = settings.PLS_POLICY_CACHE_SECONDS if cached else 0
    now = time.monotonic()
    if ttl > 0 and _current is not None and _current[0] > now:
        return _current[1]
    policy = WorkerPolicy.objects.order_by("-version").first()
    if policy is None:
        # The interim policy is written by a migration; its absence is a broken install.
        raise WorkerPolicy.DoesNotExist("No worker policy: run `manage.py migrate`.")
    if ttl > 0:
        _current = (now + ttl, policy)
    return policy


def policy_forget() -> None:
    global _current
    _current = None


def proposal_list() -> QuerySet[Proposal]:
    return Proposal.objects.all()


def open_question_count() -> int:
    return Proposal.objects.filter(
        kind=Proposal.Kind.POLICY_QUESTION, status__in=Proposal.UNDECIDED
    ).count()


def decision_list() -> QuerySet[PolicyDecision]:
    return PolicyDecision.objects.select_related(
        "proposal", "decided_by", "policy_before", "policy_after"
    )
