"""Formatting for the console home's figures."""

from django import template
from django.db.models import TextChoices

from core.money import money
from learning.models import LearningMemoryUpdate
from policies.ladder import Decision
from policies.models import Proposal
from repairs.models import Gate, SelfHealRequest, Worker

register = template.Library()


@register.filter
def duration(seconds: float | None, missing: str = "—") -> str:
    """Seconds in the largest unit that keeps them readable: 45 s, 12 min, 3.5 h, 2.1 d.
    The owner's digest uses it too, so a figure reads the same in the console and the message."""
    if seconds is None:
        return missing
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


@register.filter
def percent(fraction: float | None) -> str:
    return "—" if fraction is None else f"{fraction * 100:.0f} %"


@register.filter
def cents(amount: int | None) -> str:
    """Hundredths of the budget currency, written for the reader's language."""
    return "—" if amount is None else money(amount)


# The codes the scorecard counts by, each vocabulary with the labels a person reads; the API
# keeps the codes.
VOCABULARIES: dict[str, type[TextChoices]] = {
    "gate": Gate,
    "verdict": Decision,
    "self_heal": SelfHealRequest.Status,
    "lesson_kind": LearningMemoryUpdate.Kind,
    "review": LearningMemoryUpdate.Review,
    "proposal_status": Proposal.Status,
    "worker_status": Worker.Status,
}


@register.filter
def label(code: str, vocabulary: str) -> str:
    """The label of ``code`` in ``vocabulary`` (see ``VOCABULARIES``); an unknown code as
    it is."""
    choices = VOCABULARIES[vocabulary]
    return str(choices(code).label) if code in choices.values else code
