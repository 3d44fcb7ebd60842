"""Every write to workers, tokens, repair events and self-heal requests goes through these
functions; views, the console, commands and tasks only call them."""

from repairs.services.budgets import (
    UsageRecorded,
    budget_month_of,
    month_spend,
    worker_pause,
    worker_resume,
    worker_usage_add,
)
from repairs.services.events import (
    ReportedEvent,
    ReportedOutcome,
    repair_event_report,
    repair_event_resolve,
)
from repairs.services.jobs import (
    job_claim,
    job_claim_next,
    job_complete,
    job_create,
    job_heartbeat,
    job_holder_required,
)
from repairs.services.reminders import self_heal_requests_remind
from repairs.services.self_heal import (
    self_heal_callback_deliver,
    self_heal_callbacks_due,
    self_heal_request_decide,
    self_heal_requests_expire,
)
from repairs.services.stuck_claims import (
    JobAction,
    job_reclaim,
    job_release,
    job_self_heal_carry_out,
    job_stuck_claims_detect,
)
from repairs.services.workers import (
    TOKEN_PREFIX,
    worker_callback_secret_rotate,
    worker_register,
    worker_token_authenticate,
    worker_token_issue,
    worker_token_revoke,
)

__all__ = [
    "TOKEN_PREFIX",
    "JobAction",
    "ReportedEvent",
    "ReportedOutcome",
    "UsageRecorded",
    "budget_month_of",
    "job_claim",
    "job_claim_next",
    "job_complete",
    "job_create",
    "job_heartbeat",
    "job_holder_required",
    "job_reclaim",
    "job_release",
    "job_self_heal_carry_out",
    "job_stuck_claims_detect",
    "month_spend",
    "repair_event_report",
    "repair_event_resolve",
    "self_heal_callback_deliver",
    "self_heal_callbacks_due",
    "self_heal_request_decide",
    "self_heal_requests_expire",
    "self_heal_requests_remind",
    "worker_callback_secret_rotate",
    "worker_pause",
    "worker_register",
    "worker_resume",
    "worker_token_authenticate",
    "worker_token_issue",
    "worker_token_revoke",
    "worker_usage_add",
]
