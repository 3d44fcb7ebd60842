from django.utils.translation import gettext_lazy as _

from core.exceptions import Conflict, DomainError, NotAllowed, TransitionNotAllowed


class RequestAlreadyDecided(TransitionNotAllowed):
    type_slug = "request-already-decided"
    title = _("Self-heal request already decided")


class RequestExpired(TransitionNotAllowed):
    type_slug = "request-expired"
    title = _("Self-heal request expired")


class CallbackFailed(Exception):
    """A worker's callback URL did not take the decision; the task retries it."""


class OutcomeAlreadyRecorded(TransitionNotAllowed):
    type_slug = "outcome-already-recorded"
    title = _("The event's outcome is already recorded")


# --- Jobs, claims, leases and budgets ---------------------------------------------------------


class WorkerPaused(DomainError):
    """A paused worker (by its owner, or at 100 % of its monthly budget) takes no new work."""

    status_code = 423
    type_slug = "worker-paused"
    title = _("Worker paused")


class JobNotFound(DomainError):
    status_code = 404
    type_slug = "job-not-found"
    title = _("No such job")


class JobAlreadyExists(Conflict):
    type_slug = "job-already-exists"
    title = _("A job with this external id exists")


class JobHeld(Conflict):
    """Another worker holds the job under an unexpired lease."""

    type_slug = "job-held"
    title = _("Another worker holds the job")


class NotHolder(NotAllowed):
    """Only the worker holding a job's claim may heartbeat, release or complete it."""

    type_slug = "not-the-holder"
    title = _("Not the job's holder")


class JobStateConflict(TransitionNotAllowed):
    """The job's status does not allow this (stuck, completed, open)."""

    type_slug = "job-state"
    title = _("The job's status does not allow this")


class PolicyDenied(NotAllowed):
    """The policy ladder denied the action; the verdict says why."""

    type_slug = "policy-denied"
    title = _("Denied by the worker policy")
