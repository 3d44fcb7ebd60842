from config.exceptions import Conflict, TransitionNotAllowed


class IdempotencyConflict(Conflict):
    type_slug = "idempotency-conflict"
    title = "Idempotency key reused with another body"


class RequestAlreadyDecided(TransitionNotAllowed):
    type_slug = "request-already-decided"
    title = "Self-heal request already decided"


class RequestExpired(TransitionNotAllowed):
    type_slug = "request-expired"
    title = "Self-heal request expired"


class CallbackFailed(Exception):
    """A worker's callback URL did not take the decision; the task retries it."""


class OutcomeAlreadyRecorded(TransitionNotAllowed):
    type_slug = "outcome-already-recorded"
    title = "The event's outcome is already recorded"
