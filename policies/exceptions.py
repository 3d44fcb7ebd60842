from config.exceptions import Conflict, DomainError, TransitionNotAllowed


class InvalidPolicyChange(DomainError):
    type_slug = "invalid-policy-change"
    title = "Invalid policy change"


class UnknownActionError(DomainError):
    type_slug = "unknown-action"
    title = "Unknown action"


class StalePolicyVersion(Conflict):
    type_slug = "stale-policy-version"
    title = "Policy version is no longer current"


class ProposalAlreadyDecided(TransitionNotAllowed):
    type_slug = "proposal-already-decided"
    title = "Proposal already decided"
