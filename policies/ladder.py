"""The self-heal action ladder (DESIGN §3): one function the API, the console and the
policy simulation share, so a verdict is the same wherever it is worked out.

It reads the policy's attributes and the protection floor (``PLS_PROTECTED_FLOOR``, which
no policy can lift) only, so a saved ``WorkerPolicy`` and an unsaved one built for a
simulation are judged alike.
"""

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from django.conf import settings
from django.db.models import TextChoices
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.audience import speaking_to
from core.redaction import redact
from core.roles import RISK_REVIEWER
from policies.models import L2_ACTIONS, NO_APPROVAL
from policies.targets import canonical, matching_pattern

OBSERVE = ("diagnose", "record_blocker", "report_friction")  # L0
SAFE = ("retry", "touch", "propose")  # L1
RISKY = L2_ACTIONS  # L2
FORBIDDEN = ("hard_complete", "force_push", "delete_resource")  # L3
KNOWN_ACTIONS = (*OBSERVE, *SAFE, *RISKY, *FORBIDDEN)
# L1 actions that spend the per-job, per-error-class budget of ``max_auto_retries``.
BUDGETED = ("retry", "touch")
# Actions that act on the worker's job and on nothing else: release and reclaim change who
# holds it, touch revives its claim's lease, retry repeats its failed step. A target naming
# anything else would be what the policy judged and the approver read while the job is
# what changed, so it is refused. The other actions (restarting or resetting a session,
# rerunning a pipeline, proposing) act on what their target names, for the job: both count.
JOB_SCOPED = ("release", "reclaim", "touch", "retry")


class Decision(TextChoices):
    """A verdict's decision on an action; the API, the events and the metrics keep the codes,
    the console shows the labels."""

    ALLOWED = "allowed", _("allowed")
    NEEDS_APPROVAL = "needs_approval", _("needs approval")
    DENIED = "denied", _("denied")


ALLOWED = Decision.ALLOWED.value
NEEDS_APPROVAL = Decision.NEEDS_APPROVAL.value
DENIED = Decision.DENIED.value


class UnknownAction(ValueError):
    pass


class TargetNotTheJob(ValueError):
    """A job-scoped action named a target other than its job."""


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


def protected_floor() -> list[str]:
    """The patterns protected whatever any policy version says (``PLS_PROTECTED_FLOOR``)."""
    return [pattern for pattern in settings.PLS_PROTECTED_FLOOR if pattern.strip()]


def floor_missing(patterns: Iterable[str]) -> list[str]:
    """The floor's patterns that ``patterns`` leave out, read in the canonical spelling
    (``*_DB`` keeps ``*-db``; ``*-db*`` or ``*postgres`` do not)."""
    kept = {canonical(pattern) for pattern in patterns}
    return [pattern for pattern in protected_floor() if canonical(pattern) not in kept]


def beyond_floor(patterns: Iterable[str]) -> list[str]:
    """The patterns of ``patterns`` the floor does not already hold: what a policy adds."""
    floor = {canonical(pattern) for pattern in protected_floor()}
    return [pattern for pattern in patterns if canonical(pattern) not in floor]


def is_protected(target: str, patterns: list[str]) -> str | None:
    """The pattern that protects ``target`` (any of its forms, see ``policies.targets``),
    or None."""
    return matching_pattern(target, patterns)


def resources_touched(action: str, *, job: str = "", target: str = "") -> tuple[str, ...]:
    """Every resource ``action`` acts on, for the job ``job`` and the target ``target``.

    A job-scoped action touches its job (or, with no job named, its target); a target that
    names something else raises ``TargetNotTheJob``. Any other action touches its job and
    its target alike.
    """
    if action in JOB_SCOPED and job and target and target != job:
        raise TargetNotTheJob(f"{action} acts on its job {job}, not on {target}")
    return named_resources(job=job, target=target)


def named_resources(*, job: str = "", target: str = "") -> tuple[str, ...]:
    """The job and the target, each once: what an event names, judged all alike."""
    return tuple(dict.fromkeys(name for name in (job, target) if name))


def judge(policy: Policy, *, action: str, resources: Sequence[str] = (), spent: int = 0) -> Verdict:
    """The verdict on ``action`` against every resource in ``resources`` (the strictest of
    them: one protected resource denies it) for a worker that has already spent ``spent``
    of its automatic budget for this job and error class.

    The reason is written in the console's language (``PLS_LANGUAGE``), whoever asked: it
    is stored with the event and read by every role, one text for all of them."""
    with speaking_to():  # the console's language and zone
        return _judge(policy, action=action, resources=resources, spent=spent)


def _judge(policy: Policy, *, action: str, resources: Sequence[str], spent: int) -> Verdict:
    if action not in KNOWN_ACTIONS:
        raise UnknownAction(action)

    if action in OBSERVE:
        # Observing changes nothing, so it stays allowed even on a protected resource.
        return Verdict(ALLOWED, action, "L0", gettext("Observing is always allowed."))
    if action in FORBIDDEN:
        return Verdict(
            DENIED,
            action,
            "L3",
            gettext("%(action)s is forbidden under every policy; no approval can allow it.")
            % {"action": action},
        )
    patterns = [*protected_floor(), *policy.protected_resources]
    for resource in resources:
        if pattern := is_protected(resource, patterns):
            # The reason is stored and shown to every role: never a secret the name carried.
            named = redact(resource).text
            return Verdict(
                DENIED,
                action,
                "L3",
                gettext(
                    "%(resource)s is a protected resource (matches %(pattern)r); "
                    "workers never act on it."
                )
                % {"resource": named, "pattern": pattern},
            )
    if action in RISKY:
        if policy.approval_matrix.get(action) == NO_APPROVAL:
            return Verdict(
                ALLOWED,
                action,
                "L2",
                gettext("%(action)s is a risky action the policy allows without approval.")
                % {"action": action},
            )
        return _escalate(
            policy,
            action,
            gettext("%(action)s is a risky action and needs approval.") % {"action": action},
        )

    if action == "touch" and not policy.allow_auto_touch:
        return _escalate(policy, action, gettext("The policy does not allow automatic touch."))
    if action in BUDGETED:
        budget = policy.max_auto_retries
        if spent >= budget:
            return _escalate(
                policy,
                action,
                gettext(
                    "Over budget: %(spent)s of %(budget)s automatic %(action)s(s) already used "
                    "for this job and error class."
                )
                % {"spent": spent, "budget": budget, "action": action},
                retries_left=0,
            )
        return Verdict(
            ALLOWED,
            action,
            "L1",
            gettext("Automatic %(action)s %(count)s of %(budget)s for this job and error class.")
            % {"action": action, "count": spent + 1, "budget": budget},
            retries_left=budget - spent - 1,
        )
    return Verdict(
        ALLOWED,
        action,
        "L1",
        gettext("%(action)s is a safe action under the policy.") % {"action": action},
    )


def _escalate(policy: Policy, action: str, reason: str, retries_left: int | None = None) -> Verdict:
    approver = policy.approval_matrix.get(action, RISK_REVIEWER)
    return Verdict(
        NEEDS_APPROVAL,
        action,
        "L2",
        gettext("%(reason)s Approval by %(approver)s required.")
        % {"reason": reason, "approver": approver},
        retries_left=retries_left,
        approver_role=approver,
    )
