from django.utils.translation import gettext_lazy as _

from core.exceptions import Conflict, DomainError, TransitionNotAllowed


class InvalidPolicyChange(DomainError):
    type_slug = "invalid-policy-change"
    title = _("Invalid policy change")


class ProtectionFloorDropped(InvalidPolicyChange):
    """A change would leave out patterns of the protection floor (``PLS_PROTECTED_FLOOR``)."""

    type_slug = "protection-floor"
    title = _("The protection floor cannot be dropped")


class TargetNotTheJobError(DomainError):
    """A job-scoped action named a target other than its job."""

    type_slug = "target-not-the-job"
    title = _("The target is not the action's job")


class UnknownActionError(DomainError):
    type_slug = "unknown-action"
    title = _("Unknown action")


class StalePolicyVersion(Conflict):
    type_slug = "stale-policy-version"
    title = _("Policy version is no longer current")


class ProposalAlreadyDecided(TransitionNotAllowed):
    type_slug = "proposal-already-decided"
    title = _("Proposal already decided")
