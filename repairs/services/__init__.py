"""Every write to workers, tokens, repair events and self-heal requests goes through these
functions; views, the console, commands and tasks only call them."""

from repairs.services.events import (
    ReportedEvent,
    repair_event_report,
    repair_event_resolve,
    request_digest,
)
from repairs.services.self_heal import (
    self_heal_callback_deliver,
    self_heal_callbacks_due,
    self_heal_request_decide,
    self_heal_requests_expire,
)
from repairs.services.workers import (
    TOKEN_PREFIX,
    worker_register,
    worker_token_authenticate,
    worker_token_issue,
    worker_token_revoke,
)

__all__ = [
    "TOKEN_PREFIX",
    "ReportedEvent",
    "repair_event_report",
    "repair_event_resolve",
    "request_digest",
    "self_heal_callback_deliver",
    "self_heal_callbacks_due",
    "self_heal_request_decide",
    "self_heal_requests_expire",
    "worker_register",
    "worker_token_authenticate",
    "worker_token_issue",
    "worker_token_revoke",
]
