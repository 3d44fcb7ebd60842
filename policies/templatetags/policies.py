"""Labels for the policy's codes on the console's policy pages."""

from django import template
from django.utils.translation import gettext as _

from policies.ladder import Decision

register = template.Library()


@register.filter
def verdict(code: str) -> str:
    """The label of a verdict code ("needs_approval": "needs approval"); "none", the
    simulation's word for an event recorded before verdicts, as "no verdict"; another code as
    it is."""
    if code == "none":
        return _("no verdict")
    return str(Decision(code).label) if code in Decision.values else code


@register.filter
def verdict_change(change: str) -> str:
    """A simulated change of verdict, "allowed → denied", in labels."""
    return " → ".join(verdict(code) for code in change.split(" → "))
