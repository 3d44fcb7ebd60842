"""Queries the learning API, the console and the digests share."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from core.roles import acting_worker
from learning.models import LearningMemoryUpdate, PromptPackExport

Review = LearningMemoryUpdate.Review


def learning_update_list(*, user: AbstractBaseUser) -> QuerySet[LearningMemoryUpdate]:
    """Updates the user may read: a worker reads its own team's and the fleet-wide ones (what
    its team learned, whoever reported it first); people with the view right read all."""
    records = LearningMemoryUpdate.objects.select_related("worker", "reviewed_by")
    worker = acting_worker(user)
    if worker is None:
        return records
    return records.filter(Q(team=worker.team) | Q(team=""))


def prompt_pack_lessons(*, team: str, limit: int) -> tuple[list[LearningMemoryUpdate], int]:
    """The accepted lessons of ``team`` and of the whole fleet, most urgent first (priority,
    then how often learned), at most ``limit``; and how many more were left out."""
    accepted = LearningMemoryUpdate.objects.filter(
        review=Review.ACCEPTED, team__in={team, ""}
    ).order_by("next_round_priority", "-occurrences", "id")
    lessons = list(accepted[: limit + 1])
    if len(lessons) <= limit:
        return lessons, 0
    return lessons[:limit], accepted.count() - limit


def learning_teams() -> list[str]:
    """Every team with workers or lessons, for choosing whose prompt pack to show. Workers'
    teams are read through the users they act as (``core.roles.acting_worker``), so learning
    names no repairs model."""
    workers = get_user_model().objects.filter(worker__isnull=False)
    teams = set(workers.values_list("worker__team", flat=True).distinct())
    teams |= set(LearningMemoryUpdate.objects.values_list("team", flat=True).distinct())
    teams.discard("")
    return sorted(teams)


def prompt_pack_export_list() -> QuerySet[PromptPackExport]:
    return PromptPackExport.objects.select_related("exported_by")
