"""The application's exception hierarchy. Services raise these; ``core.problems`` turns
each into an RFC 9457 problem document. Nothing here imports DRF, so services stay free of
the web layer."""

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """Base of the application's exceptions: each maps to one problem type and status."""

    status_code = 400
    type_slug = "domain-error"
    # Lazy: the problem document's title follows the request's language.
    title: str | Promise = _("Request could not be processed")

    def __init__(self, detail: str | Promise, **extra: Any) -> None:
        # A lazy text is read now, in the language of whoever caused it.
        detail = str(detail)
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Conflict(DomainError):
    status_code = 409
    type_slug = "conflict"
    title = _("Conflict")


class NotAllowed(DomainError):
    """The caller is known but may not do this: the wrong role, or their own request."""

    status_code = 403
    type_slug = "not-allowed"
    title = _("Not allowed")


class TransitionNotAllowed(Conflict):
    """The record is no longer in a state that allows this change (decided, expired, stale)."""

    type_slug = "transition-not-allowed"
    title = _("Transition not allowed")


class IdempotencyConflict(Conflict):
    """The Idempotency-Key was first used with another request (another body or route)."""

    type_slug = "idempotency-conflict"
    title = _("Idempotency key reused with another body")
