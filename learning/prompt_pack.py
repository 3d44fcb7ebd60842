"""The prompt pack's Markdown: what a team pastes into its workers' instructions so the next
round starts with what the last one learned."""

from collections.abc import Sequence
from datetime import datetime

from learning.models import LearningMemoryUpdate

Kind = LearningMemoryUpdate.Kind


def prompt_pack_markdown(
    *, team: str, lessons: Sequence[LearningMemoryUpdate], left_out: int, now: datetime
) -> str:
    """``lessons`` (already most urgent first) grouped by error class. A group comes where
    its most urgent lesson comes, so the first heading is the first thing to know."""
    scope = f"team `{team}` and the whole fleet" if team else "the whole fleet"
    title = f"team {team}" if team else "the whole fleet"
    lines = [
        f"# Prompt pack: {title}",
        "",
        "What earlier rounds of PLS workers learned from their own repairs, accepted by a "
        "reviewer. Apply these before improvising: lessons are grouped by error class and "
        "ordered by next-round priority (P1 = do first) and by how often they were learned.",
        "",
        f"Generated {now:%Y-%m-%d %H:%M} UTC by the PLS Ops Console from {len(lessons)} "
        f"accepted lesson(s) of {scope}."
        + (f" {left_out} less urgent lesson(s) were left out." if left_out else ""),
    ]
    if not lessons:
        lines += ["", "No accepted lessons yet."]
    groups: dict[str, list[LearningMemoryUpdate]] = {}
    for lesson in lessons:  # a dict keeps the order in which each class first appears
        groups.setdefault(lesson.error_class, []).append(lesson)
    for error_class, group in groups.items():
        lines += ["", f"## {error_class}", ""]
        lines += [_item(lesson) for lesson in group]
    return "\n".join(lines) + "\n"


def _item(lesson: LearningMemoryUpdate) -> str:
    facts = [f"P{lesson.next_round_priority}", f"learned {lesson.occurrences}x"]
    if lesson.kind != Kind.REPAIR_LESSON:
        facts.append(lesson.get_kind_display().lower())
    if not lesson.team:
        facts.append("fleet-wide")
    text = f"- **{' · '.join(facts)}**: {_indented(lesson.lesson)}"
    if lesson.fix:
        text += f"\n  - Fix: {_indented(lesson.fix, depth=4)}"
    return text


def _indented(text: str, depth: int = 2) -> str:
    """Keeps a multi-line lesson inside its list item."""
    return ("\n" + " " * depth).join(line.rstrip() for line in text.strip().splitlines())
