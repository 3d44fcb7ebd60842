"""What ages out, in one table: each kind, the setting that says how many days it is kept
(0 keeps it for ever) and the owning app's purge. ``core.retention`` runs them in batches
(the beat task ``console.tasks.retention_purge``).

Kept for ever, and so not listed: policy versions and decisions, self-heal requests and
their events, lessons and the events they came from, the audit trail, jobs, workers and
tokens. Adding a kind is one ``Kind(...)`` line here (and its setting in
config/settings/base.py).
"""

from datetime import datetime

from artifacts.services import artifact_check_bodies_purge
from core.retention import DEFAULT_BATCH, Kind, register
from dashboards.milestones import acceptance_event_ids
from dashboards.scorecard import MAX_DAYS
from notifications.chat import chat_callbacks_purge
from notifications.services import report_purge_archived
from repairs.services.retention import (
    budget_spends_purge,
    repair_events_purge,
    repeat_counters_purge,
    tool_verdicts_purge,
)


def events_purge(*, cutoff: datetime, batch_size: int = DEFAULT_BATCH) -> int:
    # The D7 acceptance's first events stay, so the milestone it proves stays reached.
    return repair_events_purge(cutoff=cutoff, batch_size=batch_size, keep=acceptance_event_ids())


def reports_purge(*, cutoff: datetime, batch_size: int = DEFAULT_BATCH) -> int:
    return report_purge_archived(cutoff=cutoff, batch_size=batch_size)


KINDS = [
    # The scorecard's rollup is recounted from the events of its longest window.
    Kind("events", "PLS_RETAIN_EVENTS_DAYS", events_purge, "repair events", MAX_DAYS),
    Kind("reports", "PLS_RETAIN_REPORTS_DAYS", reports_purge, "sent and suppressed owner reports"),
    Kind(
        "check_bodies",
        "PLS_RETAIN_CHECK_BODIES_DAYS",
        artifact_check_bodies_purge,
        "artifact-check results and upload lists",
    ),
    # The verdict log only: the self-heal requests tool calls opened are kept for ever.
    Kind("verdicts", "PLS_RETAIN_VERDICTS_DAYS", tool_verdicts_purge, "tool-call verdicts"),
    Kind(
        "chat_callbacks",
        "PLS_RETAIN_CHAT_CALLBACKS_DAYS",
        chat_callbacks_purge,
        "handled chat callback ids and spent link codes",
    ),
    # Counters with nothing left in the repeat window: no report would read their counts.
    Kind(
        "repeat_counters",
        "PLS_RETAIN_REPEAT_COUNTERS_DAYS",
        repeat_counters_purge,
        "repeat counters whose window has passed",
    ),
    # A spent budget goes once its job has been quiet this long: a retry after that starts
    # a new one. At least 30 days, so a job in progress keeps its budget.
    Kind(
        "budget_spends",
        "PLS_RETAIN_BUDGET_SPENDS_DAYS",
        budget_spends_purge,
        "retry budgets of jobs with no report since",
        30,
    ),
]


def register_all() -> None:
    for kind in KINDS:
        register(kind)
