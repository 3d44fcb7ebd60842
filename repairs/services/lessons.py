"""The lesson a resolved repair leaves in its team's learning memory, built here where repair
events live and handed to learning as plain values."""

from learning.models import LearningMemoryUpdate
from learning.services import Learned, learning_update_record
from repairs.models import RepairEvent


def repair_lesson_text(event: RepairEvent) -> tuple[str, str]:
    """The lesson and fix a resolved event teaches when nobody wrote one: what a worker that
    meets the same error next should do. Built from what stays the same between repeats (error
    class, phase, action), so every resolution of one kind counts as one lesson."""
    where = f" in phase {event.phase}" if event.phase else ""
    if event.action:
        lesson = (
            f"When {event.error_class} happens{where}, {event.action} first: "
            f"{event.action} resolved it before."
        )
        return lesson, f"{event.action} (gate {event.gate})"
    lesson = (
        f"When {event.error_class} happens{where}, it has been resolved without a self-heal "
        "action: diagnose and record the blocker before escalating."
    )
    return lesson, ""


def repair_lesson_record(
    *,
    event: RepairEvent,
    lesson: str = "",
    fix: str = "",
    next_round_priority: int | None = None,
) -> Learned:
    """The ``repair_lesson`` a resolved repair event leaves in its team's memory.

    Called by ``repair_event_resolve`` (and a report that carries its outcome) inside its
    transaction. Without a lesson, one is derived from the event; without a fix, the event's
    action is the fix.
    """
    derived_lesson, derived_fix = repair_lesson_text(event)
    return learning_update_record(
        worker=event.worker,
        kind=LearningMemoryUpdate.Kind.REPAIR_LESSON,
        error_class=event.error_class,
        lesson=lesson.strip() or derived_lesson,
        fix=fix.strip() or derived_fix,
        next_round_priority=next_round_priority,
        event_id=event.pk,
    )
