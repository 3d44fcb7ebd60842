"""Every write to the learning memory goes through these functions: lessons recorded (by a
worker, or by resolving a repair event), reviewed (accept, edit, retire, share with the whole
fleet) and exported as a team's prompt pack.

Learning stands below repairs: repairs calls these with plain values (a reporter's id and
team, an event's id, the lesson's text, which repairs builds from its events), and nothing
here imports repairs."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.db.models import Case, F, TextField, Value, When
from django.db.models.functions import Least
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from core.audit import CHANGE, Said, audit_record, said
from core.exceptions import Conflict, NotAllowed, TransitionNotAllowed
from core.redaction import redact
from core.roles import acting_worker, acts_as_decider
from core.text import normalise_message
from learning.models import LearningMemoryUpdate, PromptPackExport
from learning.selectors import prompt_pack_lessons

Kind = LearningMemoryUpdate.Kind
Review = LearningMemoryUpdate.Review


class LessonAlreadyRecorded(Conflict):
    type_slug = "lesson-already-recorded"
    title = _("Another update already holds this lesson")


class ReviewNotAllowed(TransitionNotAllowed):
    type_slug = "review-not-allowed"
    title = _("The update is not in a state that allows this review")


class Reporter(Protocol):
    """Who reports a lesson, as learning sees a worker: its id and its team."""

    pk: int
    team: str


@dataclass(frozen=True)
class Learned:
    update: LearningMemoryUpdate
    # False when the lesson was already known and only its occurrences grew.
    created: bool


def lesson_digest(lesson: str) -> str:
    """What "the same lesson" means: the text with case, spacing, numbers and ids taken out,
    as the repairs fingerprint does for error messages."""
    return hashlib.sha256(normalise_message(lesson).encode()).hexdigest()


def learning_update_record(
    *,
    worker: Reporter | None,
    kind: str,
    error_class: str,
    lesson: str,
    fix: str = "",
    next_round_priority: int | None = None,
    event_id: int | None = None,
) -> Learned:
    """Records a lesson for the worker's team, or counts it again if the team already has it.

    Lesson and fix are redacted first (a worker may paste a command line with a token in
    it). A repeat raises ``occurrences`` and ``last_seen_at``, keeps the more urgent
    priority (the smaller number) and fills a blank fix; the first wording, event and review
    status stay. Concurrent reports of one lesson make one row: the unique constraint
    settles who inserts, and the others count.
    """
    if kind not in Kind.values:
        raise ValueError(f"kind must be one of {Kind.values}, not {kind!r}")
    lesson = redact(lesson).text.strip()
    fix = redact(fix).text.strip()
    if not lesson:
        raise ValueError("a lesson needs text")
    priority = next_round_priority or settings.PLS_LEARNING_DEFAULT_PRIORITY
    key = {
        "team": worker.team if worker is not None else "",
        "kind": kind,
        "error_class": error_class,
        "lesson_digest": lesson_digest(lesson),
    }
    now = timezone.now()
    with transaction.atomic():
        update = _count_again(key, priority=priority, fix=fix, now=now)
        if update is not None:
            return Learned(update, created=False)
        try:
            # A savepoint: losing the insert race must not spoil the caller's transaction.
            with transaction.atomic():
                update = LearningMemoryUpdate.objects.create(
                    **key,
                    worker_id=worker.pk if worker is not None else None,
                    event_id=event_id,
                    lesson=lesson,
                    fix=fix,
                    next_round_priority=priority,
                    last_seen_at=now,
                )
        except IntegrityError:
            # A concurrent report inserted it first; it has committed (the insert waited
            # for it), so this statement sees the row.
            update = _count_again(key, priority=priority, fix=fix, now=now)
            if update is None:
                raise
            return Learned(update, created=False)
    return Learned(update, created=True)


def _count_again(
    key: dict[str, str], *, priority: int, fix: str, now: datetime
) -> LearningMemoryUpdate | None:
    """One conditional UPDATE, so concurrent repeats each count (no read-modify-write)."""
    changes = {
        "occurrences": F("occurrences") + 1,
        "last_seen_at": now,
        "next_round_priority": Least(F("next_round_priority"), Value(priority)),
    }
    if fix:
        changes["fix"] = Case(
            When(fix="", then=Value(fix)), default=F("fix"), output_field=TextField()
        )
    counted = LearningMemoryUpdate.objects.filter(**key).update(**changes)
    if not counted:
        return None
    return LearningMemoryUpdate.objects.select_related("worker").get(**key)


# --- Review ---------------------------------------------------------------------------------


def may_review(user: User | AnonymousUser) -> bool:
    """The owner and the risk reviewer review lessons (with the change right); workers never
    do, whatever rights they are given."""
    return (
        user.is_authenticated
        and acting_worker(user) is None
        and user.has_perm("learning.change_learningmemoryupdate")
        and acts_as_decider(user)
    )


def _review(
    update: LearningMemoryUpdate, by: User, allowed_from: Iterable[str], refusal: Promise
) -> LearningMemoryUpdate:
    """Locks the row and checks the reviewer and the transition; the caller writes."""
    if not may_review(by):
        raise NotAllowed(_("Only the PLS owner or the risk reviewer reviews lessons."))
    locked = LearningMemoryUpdate.objects.select_for_update().get(pk=update.pk)
    if locked.review not in allowed_from:
        raise ReviewNotAllowed(
            refusal % {"id": locked.pk, "review": locked.review},
            review=locked.review,
        )
    return locked


def _reviewed(locked: LearningMemoryUpdate, by: User, fields: list[str], message: Said) -> None:
    locked.reviewed_by, locked.reviewed_at = by, timezone.now()
    locked.save(update_fields=[*fields, "reviewed_by", "reviewed_at"])
    audit_record(user=by, obj=locked, action_flag=CHANGE, message=message)


def learning_update_accept(*, update: LearningMemoryUpdate, by: User) -> LearningMemoryUpdate:
    """Accepts a lesson into its team's prompt pack (a retired one may come back)."""
    with transaction.atomic():
        locked = _review(
            update,
            by,
            [Review.PENDING, Review.RETIRED],
            _("Learning update #%(id)s is %(review)s; it cannot be accepted."),
        )
        locked.review = Review.ACCEPTED
        _reviewed(locked, by, ["review"], said(gettext_noop("Accepted into the prompt pack.")))
    return locked


def learning_update_retire(*, update: LearningMemoryUpdate, by: User) -> LearningMemoryUpdate:
    """Takes a lesson out of the prompt pack. It is kept, and still counted if learned again,
    so a reviewer sees when a retired lesson keeps coming back."""
    with transaction.atomic():
        locked = _review(
            update,
            by,
            [Review.PENDING, Review.ACCEPTED],
            _("Learning update #%(id)s is %(review)s; it cannot be retired."),
        )
        locked.review = Review.RETIRED
        _reviewed(locked, by, ["review"], said(gettext_noop("Retired from the prompt pack.")))
    return locked


def learning_update_edit(
    *,
    update: LearningMemoryUpdate,
    by: User,
    lesson: str | None = None,
    fix: str | None = None,
    next_round_priority: int | None = None,
) -> LearningMemoryUpdate:
    """Rewrites a lesson's text, fix or priority; its review status stays as it was.

    New wording that says what another update of the team already says is refused with a
    pointer to that one (retire one of the two instead).
    """
    with transaction.atomic():
        locked = _review(
            update,
            by,
            Review.values,
            _("Learning update #%(id)s is %(review)s; it cannot be edited."),
        )
        fields = []
        if lesson is not None:
            locked.lesson = redact(lesson).text.strip()
            if not locked.lesson:
                raise ValueError("a lesson needs text")
            locked.lesson_digest = lesson_digest(locked.lesson)
            fields += ["lesson", "lesson_digest"]
        if fix is not None:
            locked.fix = redact(fix).text.strip()
            fields.append("fix")
        if next_round_priority is not None:
            locked.next_round_priority = next_round_priority
            fields.append("next_round_priority")
        _unique_or_refuse(locked)
        try:
            with transaction.atomic():
                _reviewed(
                    locked,
                    by,
                    fields,
                    said(
                        gettext_noop("Edited %(fields)s."),
                        fields=", ".join(f for f in fields if f != "lesson_digest"),
                    ),
                )
        except IntegrityError:
            _unique_or_refuse(locked)  # a twin committed meanwhile: say which
            raise
    return locked


def learning_update_share(*, update: LearningMemoryUpdate, by: User) -> LearningMemoryUpdate:
    """Makes a team's lesson fleet-wide: every team's prompt pack carries it from now on."""
    with transaction.atomic():
        locked = _review(
            update,
            by,
            Review.values,
            _("Learning update #%(id)s is %(review)s; it cannot be shared."),
        )
        if not locked.team:
            raise ReviewNotAllowed(
                _("Learning update #%(id)s is already fleet-wide.") % {"id": locked.pk}
            )
        team, locked.team = locked.team, ""
        _unique_or_refuse(locked)
        try:
            with transaction.atomic():
                _reviewed(
                    locked,
                    by,
                    ["team"],
                    said(gettext_noop("Shared fleet-wide (was team %(team)s)."), team=team),
                )
        except IntegrityError:
            _unique_or_refuse(locked)
            raise
    return locked


def _unique_or_refuse(update: LearningMemoryUpdate) -> None:
    twin = (
        LearningMemoryUpdate.objects.filter(
            team=update.team,
            kind=update.kind,
            error_class=update.error_class,
            lesson_digest=update.lesson_digest,
        )
        .exclude(pk=update.pk)
        .values_list("pk", flat=True)
        .first()
    )
    if twin is not None:
        raise LessonAlreadyRecorded(
            _(
                "Learning update #%(id)s already says this for %(scope)s; retire one of the "
                "two instead."
            )
            % {"id": twin, "scope": update.team or _("the whole fleet")},
            update=twin,
        )


# --- The prompt pack ------------------------------------------------------------------------


@dataclass(frozen=True)
class PromptPack:
    markdown: str
    lesson_count: int
    export: PromptPackExport


def prompt_pack_export(*, team: str, by: User | AnonymousUser | None) -> PromptPack:
    """The Markdown a team pastes into its workers' instructions, and the record that it was
    exported (who, when, how many lessons, the SHA-256 of the text)."""
    from learning.prompt_pack import prompt_pack_markdown

    now = timezone.now()
    lessons, left_out = prompt_pack_lessons(team=team, limit=settings.PLS_LEARNING_PACK_MAX_LESSONS)
    markdown = prompt_pack_markdown(team=team, lessons=lessons, left_out=left_out, now=now)
    export = PromptPackExport.objects.create(
        team=team,
        # AnonymousUser is the one user that is not authenticated: it is recorded as nobody.
        exported_by=by if isinstance(by, User) else None,
        lesson_count=len(lessons),
        digest=hashlib.sha256(markdown.encode()).hexdigest(),
    )
    return PromptPack(markdown=markdown, lesson_count=len(lessons), export=export)
