"""The Approve / Reject buttons of a report that asks for a decision, and what a pressed
button sends back: ``<kind>:<id>:<choice>``, e.g. ``sh:11:a``.

The data only names the record and the choice. It grants nothing: who may decide is settled
by the verified callback's chat identity, linked to a console user, and the same service as
the console's; so a guessed or copied value is useless, and it stays far inside every
provider's limit (Telegram's 64 bytes).
"""

from dataclasses import dataclass

from notifications.models import DecisionKind

_CODES = {DecisionKind.SELF_HEAL_REQUEST: "sh", DecisionKind.PROPOSAL: "pr"}
_KINDS = {code: kind for kind, code in _CODES.items()}
_CHOICES = {"a": True, "r": False}


@dataclass(frozen=True)
class Button:
    label: str
    data: str
    approve: bool


@dataclass(frozen=True)
class Pressed:
    """A decoded button: the record's kind and id, and whether it approves (adopts)."""

    kind: str
    record_id: int
    approve: bool


def buttons_for(kind: str, record_id: int) -> tuple[Button, ...]:
    code = _CODES[DecisionKind(kind)]
    approve = "Adopt" if kind == DecisionKind.PROPOSAL else "Approve"
    return (
        Button(f"✅ {approve}", f"{code}:{record_id}:a", approve=True),
        Button("❌ Reject", f"{code}:{record_id}:r", approve=False),
    )


def pressed(data: str) -> Pressed | None:
    """The button ``data`` names, or None for anything else."""
    parts = data.split(":")
    if len(parts) != 3 or parts[0] not in _KINDS or parts[2] not in _CHOICES:
        return None
    if not parts[1].isdigit() or len(parts[1]) > 18:
        return None
    return Pressed(_KINDS[parts[0]], int(parts[1]), _CHOICES[parts[2]])
