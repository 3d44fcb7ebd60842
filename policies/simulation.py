"""Policy simulation (DESIGN §4): replay past actions through a draft policy and show which
verdicts would change, next to what was actually decided.

``simulate`` is pure. The past actions are recorded by the repairs app, which sits above this
one, so it hands its reader in from its ``AppConfig.ready()`` (``past_actions_source``) and
this module never imports it.
"""

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from policies import ladder
from policies.models import EDITABLE_FIELDS, WorkerPolicy
from policies.tool_rules import read_call

EXAMPLES_PER_CHANGE = 5


@dataclass(frozen=True)
class PastAction:
    event: int
    worker: str
    job_ref: str
    error_class: str
    action: str
    target: str
    decision: str  # the verdict actually given; "" for events from before verdicts
    occurred_at: datetime


@dataclass(frozen=True)
class PastToolCall:
    """A tool call from the verdict log. ``decision`` is the ladder's verdict at the time
    (a call allowed by an approval was ``needs_approval``); the input is as stored,
    redacted."""

    decision_id: int
    worker: str
    job_ref: str
    tool_name: str
    tool_input: dict[str, Any]
    rule: str
    action: str
    decision: str
    created_at: datetime


PastActionsReader = Callable[..., tuple[list[PastAction], bool]]
PastToolCallsReader = Callable[..., tuple[list[PastToolCall], bool]]
_reader: PastActionsReader | None = None
_tool_calls_reader: PastToolCallsReader | None = None


def past_actions_source(reader: PastActionsReader) -> None:
    """Sets where past actions come from: ``reader(since=, limit=)`` returns them oldest
    first and whether older ones in the window were left out."""
    global _reader
    _reader = reader


def past_tool_calls_source(reader: PastToolCallsReader) -> None:
    """Sets where past tool calls come from, as ``past_actions_source`` does for actions."""
    global _tool_calls_reader
    _tool_calls_reader = reader


def past_tool_calls(*, since: datetime, limit: int) -> tuple[list[PastToolCall], bool]:
    if _tool_calls_reader is None:
        raise RuntimeError("No source of past tool calls: is the repairs app installed?")
    return _tool_calls_reader(since=since, limit=limit)


def past_actions(*, since: datetime, limit: int) -> tuple[list[PastAction], bool]:
    if _reader is None:
        raise RuntimeError("No source of past actions: is the repairs app installed?")
    return _reader(since=since, limit=limit)


def policy_draft(base: WorkerPolicy, changes: dict[str, Any]) -> WorkerPolicy:
    """An unsaved policy: ``base`` with ``changes`` applied."""
    draft = WorkerPolicy(**{name: getattr(base, name) for name in EDITABLE_FIELDS})
    for name, value in changes.items():
        setattr(draft, name, value)
    return draft


class _Tally:
    """Verdict counts actually given and under a draft, the changes between them and the
    first few examples of each change: what ``simulate`` and ``simulate_tool_calls`` share."""

    def __init__(self) -> None:
        self.actual: Counter[str] = Counter()
        self.simulated: Counter[str] = Counter()
        self.changed: Counter[str] = Counter()
        self.examples: dict[str, list[dict]] = defaultdict(list)
        self.considered = 0

    def count(self, was: str, now: str) -> str | None:
        """Counts one verdict. Returns its change (``was → now``) when that change still
        wants an example, so the caller builds the row only then."""
        self.considered += 1
        self.actual[was] += 1
        self.simulated[now] += 1
        if was == now:
            return None
        change = f"{was} → {now}"
        self.changed[change] += 1
        return change if len(self.examples[change]) < EXAMPLES_PER_CHANGE else None

    def example(self, change: str, row: dict) -> None:
        self.examples[change].append(row)

    def result(self, considered_key: str) -> dict[str, Any]:
        return {
            considered_key: self.considered,
            "actual": dict(self.actual),
            "simulated": dict(self.simulated),
            "unchanged": self.considered - sum(self.changed.values()),
            "changed": [
                {"change": change, "count": count, "examples": self.examples[change]}
                for change, count in self.changed.most_common()
            ],
        }


def simulate(draft: WorkerPolicy, actions: Iterable[PastAction]) -> dict[str, Any]:
    """Verdict counts actually given and under ``draft``, the changes between them and a few
    examples of each change. ``actions`` must come oldest first: the retry budget depends on
    what each worker already spent on a job and error class."""
    spent: Counter[tuple[str, str, str, str]] = Counter()
    tally = _Tally()
    for past in actions:
        if past.action not in ladder.KNOWN_ACTIONS:
            continue
        key = (past.worker, past.job_ref, past.error_class, past.action)
        # Everything the event named, the job and the target alike (an event recorded
        # before job-scoped actions were held to their job may name both).
        resources = ladder.named_resources(job=past.job_ref, target=past.target)
        verdict = ladder.judge(draft, action=past.action, resources=resources, spent=spent[key])
        if verdict.decision == ladder.ALLOWED and past.action in ladder.BUDGETED:
            spent[key] += 1
        was = past.decision or "none"
        change = tally.count(was, verdict.decision)
        if change is not None:
            tally.example(
                change,
                {
                    "event": past.event,
                    "worker": past.worker,
                    "job": past.job_ref or None,
                    "error_class": past.error_class,
                    "action": past.action,
                    "occurred_at": past.occurred_at.isoformat(),
                    "actual": was,
                    "simulated": verdict.decision,
                    "reason": verdict.reason,
                },
            )
    return tally.result("events_considered")


def simulate_tool_calls(draft: WorkerPolicy, calls: Iterable[PastToolCall]) -> dict[str, Any]:
    """Each recorded tool call read by ``draft``'s tool rules and judged by the ladder: the
    verdict counts then and under the draft, and examples of the calls whose verdict would
    change. The retry budget is not replayed: a budgeted action counts as unspent."""
    tally = _Tally()
    for call in calls:
        reading = read_call(
            draft.tool_rules,
            draft.tool_default,
            tool_name=call.tool_name,
            tool_input=call.tool_input,
        )
        resources = ladder.named_resources(job=call.job_ref, target=reading.target)
        verdict = ladder.judge(draft, action=reading.action, resources=resources)
        change = tally.count(call.decision, verdict.decision)
        if change is not None:
            tally.example(
                change,
                {
                    "decision_id": call.decision_id,
                    "worker": call.worker,
                    "tool_name": call.tool_name,
                    "tool_input": call.tool_input,
                    "occurred_at": call.created_at.isoformat(),
                    "actual": f"{call.decision} ({call.rule}: {call.action})",
                    "simulated": f"{verdict.decision} ({reading.rule}: {reading.action})",
                    "reason": verdict.reason,
                },
            )
    return tally.result("calls_considered")
