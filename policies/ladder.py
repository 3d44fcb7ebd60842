"""The self-heal action ladder (DESIGN §3): one pure function the API, the console and the
policy simulation share, so a verdict is the same wherever it is worked out.

It reads the policy's attributes only, so a saved ``WorkerPolicy`` and an unsaved one built
for a simulation are judged alike.
"""

from dataclasses import asdict, dataclass
from fnmatch import fnmatchcase
from typing import Any, Protocol

from config.roles import RISK_REVIEWER
from policies.models import L2_ACTIONS, NO_APPROVAL

OBSERVE = ("diagnose", "record_blocker", "report_friction")  # L0
SAFE = ("retry", "touch", "propose")  # L1
RISKY = L2_ACTIONS  # L2
FORBIDDEN = ("hard_complete", "force_push", "delete_resource")  # L3
KNOWN_ACTIONS = (*OBSERVE, *SAFE, *RISKY, *FORBIDDEN)
# L1 actions that spend the per-job, per-error-class budget of ``max_auto_retries``.
BUDGETED = ("retry", "touch")

ALLOWED = "allowed"
NEEDS_APPROVAL = "needs_approval"
DENIED = "denied"


class UnknownAction(ValueError):
    pass


class Policy(Protocol):
    max_auto_retries: int
    allow_auto_touch: bool
    approval_matrix: dict[str, str]
    protected_resources: list[str]


@dataclass(frozen=True)
class Verdict:
    decision: str
    action: str
    rung: str
    reason: str
    retries_left: int | None = None
    approver_role: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_protected(target: str, patterns: list[str]) -> str | None:
    """The pattern that protects ``target``, or None."""
    lowered = target.lower()
    return next((p for p in patterns if fnmatchcase(lowered, p.lower())), None)


def judge(policy: Policy, *, action: str, target: str = "", spent: int = 0) -> Verdict:
    """The verdict on ``action`` against ``target`` for a worker that has already spent
    ``spent`` of its automatic budget for this job and error class."""
    if action not in KNOWN_ACTIONS:
        raise UnknownAction(action)

    if action in OBSERVE:
        # Observing changes nothing, so it stays allowed even on a protected resource.
        return Verdict(ALLOWED, action, "L0", "Observing is always allowed.")
    if action in FORBIDDEN:
        return Verdict(
            DENIED,
            action,
            "L3",
            f"{action} is forbidden under every policy; no approval can allow it.",
        )
    if target and (pattern := is_protected(target, policy.protected_resources)):
        return Verdict(
            DENIED,
            action,
            "L3",
            f"{target} is a protected resource (matches {pattern!r}); workers never act on it.",
        )
    if action in RISKY:
        if policy.approval_matrix.get(action) == NO_APPROVAL:
            return Verdict(
                ALLOWED,
                action,
                "L2",
                f"{action} is a risky action the policy allows without approval.",
            )
        return _escalate(policy, action, f"{action} is a risky action and needs approval.")

    if action == "touch" and not policy.allow_auto_touch:
        return _escalate(policy, action, "The policy does not allow automatic touch.")
    if action in BUDGETED:
        budget = policy.max_auto_retries
        if spent >= budget:
            return _escalate(
                policy,
                action,
                f"Over budget: {spent} of {budget} automatic {action}(s) already used for this "
                "job and error class.",
                retries_left=0,
            )
        return Verdict(
            ALLOWED,
            action,
            "L1",
            f"Automatic {action} {spent + 1} of {budget} for this job and error class.",
            retries_left=budget - spent - 1,
        )
    return Verdict(ALLOWED, action, "L1", f"{action} is a safe action under the policy.")


def _escalate(policy: Policy, action: str, reason: str, retries_left: int | None = None) -> Verdict:
    approver = policy.approval_matrix.get(action, RISK_REVIEWER)
    return Verdict(
        NEEDS_APPROVAL,
        action,
        "L2",
        f"{reason} Approval by {approver} required.",
        retries_left=retries_left,
        approver_role=approver,
    )
