"""The prompt pack's Markdown: what a team pastes into its workers' instructions so the next
round starts with what the last one learned."""

from collections.abc import Sequence
from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.clock import when
from learning.models import LearningMemoryUpdate

Kind = LearningMemoryUpdate.Kind


def prompt_pack_markdown(
    *, team: str, lessons: Sequence[LearningMemoryUpdate], left_out: int, now: datetime
) -> str:
    """``lessons`` (already most urgent first) grouped by error class. A group comes where
    its most urgent lesson comes, so the first heading is the first thing to know."""
    if team:
        scope = _("team `%(team)s` and the whole fleet") % {"team": team}
        title = _("team %(team)s") % {"team": team}
    else:
        scope = title = _("the whole fleet")
    generated = ngettext(
        "Generated %(at)s by the PLS Ops Console from %(n)s accepted lesson of %(scope)s.",
        "Generated %(at)s by the PLS Ops Console from %(n)s accepted lessons of %(scope)s.",
        len(lessons),
    ) % {"at": when(now), "n": len(lessons), "scope": scope}
    if left_out:
        generated += " " + ngettext(
            "%(n)s less urgent lesson was left out.",
            "%(n)s less urgent lessons were left out.",
            left_out,
        ) % {"n": left_out}
    lines = [
        _("# Prompt pack: %(title)s") % {"title": title},
        "",
        _(
            "What earlier rounds of PLS workers learned from their own repairs, accepted by a "
            "reviewer. Apply these before improvising: lessons are grouped by error class and "
            "ordered by next-round priority (P1 = do first) and by how often they were learned."
        ),
        "",
        generated,
    ]
    if not lessons:
        lines += ["", _("No accepted lessons yet.")]
    groups: dict[str, list[LearningMemoryUpdate]] = {}
    for lesson in lessons:  # a dict keeps the order in which each class first appears
        groups.setdefault(lesson.error_class, []).append(lesson)
    for error_class, group in groups.items():
        lines += ["", f"## {error_class}", ""]
        lines += [_item(lesson) for lesson in group]
    return "\n".join(lines) + "\n"


def _item(lesson: LearningMemoryUpdate) -> str:
    facts = [
        f"P{lesson.next_round_priority}",
        _("learned %(n)sx") % {"n": lesson.occurrences},
    ]
    if lesson.kind != Kind.REPAIR_LESSON:
        facts.append(lesson.get_kind_display().lower())
    if not lesson.team:
        facts.append(_("fleet-wide"))
    text = f"- **{' · '.join(facts)}**: {_indented(lesson.lesson)}"
    if lesson.fix:
        text += "\n  - " + _("Fix: %(fix)s") % {"fix": _indented(lesson.fix, depth=4)}
    return text


def _indented(text: str, depth: int = 2) -> str:
    """Keeps a multi-line lesson inside its list item."""
    return ("\n" + " " * depth).join(line.rstrip() for line in text.strip().splitlines())
