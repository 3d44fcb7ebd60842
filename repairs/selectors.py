"""Queries the API, the admin and the dashboards share."""

import json
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet, Value

from core.roles import acting_worker
from policies.simulation import PastAction, PastToolCall
from repairs.models import Gate, Job, RepairEvent, SelfHealRequest, ToolVerdict, Worker


def worker_for_user(user: AbstractBaseUser) -> Worker | None:
    """The worker a request acts as, or None for a person."""
    return acting_worker(user)


def repair_event_list(*, user: AbstractBaseUser) -> QuerySet[RepairEvent]:
    """Events the user may read: a worker sees its own, people with the view right see all."""
    return _visible_to(user, RepairEvent.objects.select_related("worker", "self_heal_request"))


def self_heal_request_list(*, user: AbstractBaseUser) -> QuerySet[SelfHealRequest]:
    """Requests the user may read: a worker sees its own, people with the view right see all."""
    return _visible_to(
        user, SelfHealRequest.objects.select_related("worker", "event", "decided_by")
    )


def tool_verdict_list(*, user: AbstractBaseUser) -> QuerySet[ToolVerdict]:
    """The verdict log the user may read: a worker its own, people with the view right all."""
    return _visible_to(
        user, ToolVerdict.objects.select_related("worker", "policy", "self_heal_request")
    )


def job_list(*, user: AbstractBaseUser) -> QuerySet[Job]:
    """Every job, each annotated ``shown_in_full``: whether ``user`` reads it in full.

    People read every job in full (their view right is checked by the caller). A worker
    reads open jobs and its own (held, or completed by it) in full; of another worker's job
    it learns at most the status, never the holder, its lease or its progress. Lists show
    only the jobs shown in full (``job_list(...).filter(shown_in_full=True)``), so
    ``?holder=`` finds nothing of another worker's; the detail shows another's job
    reduced to its status.
    """
    worker = worker_for_user(user)
    in_full = (
        Value(True)
        if worker is None
        else ExpressionWrapper(
            Q(status=Job.Status.OPEN) | Q(claimed_by=worker), output_field=BooleanField()
        )
    )
    return Job.objects.select_related("claimed_by").annotate(shown_in_full=in_full)


def _visible_to(user: AbstractBaseUser, records: QuerySet) -> QuerySet:
    """A worker's own records; everything for a person (their view right is checked by the
    caller)."""
    worker = worker_for_user(user)
    return records if worker is None else records.filter(worker=worker)


def past_actions(*, since: datetime, limit: int) -> tuple[list[PastAction], bool]:
    """The newest ``limit`` actions workers asked for since ``since``, oldest first, and
    whether older ones in the window were left out."""
    rows = list(
        RepairEvent.objects.filter(occurred_at__gte=since)
        .exclude(action="")
        # The console's own record of raising a proposal is not a worker's action.
        .exclude(gate=Gate.REPAIR_SUGGESTED)
        # Tool calls are replayed from the verdict log (``tool_calls_past``).
        .exclude(gate=Gate.TOOL_CALL)
        .order_by("-occurred_at", "-id")
        .values_list(
            "pk",
            "worker__name",
            "job_ref",
            "error_class",
            "action",
            "target",
            "decision",
            "occurred_at",
        )[: limit + 1]
    )
    truncated = len(rows) > limit
    return [PastAction(*row) for row in reversed(rows[:limit])], truncated


def past_tool_calls(*, since: datetime, limit: int) -> tuple[list[PastToolCall], bool]:
    """The newest ``limit`` tool calls of the verdict log since ``since``, oldest first, and
    whether older ones in the window were left out. A call an approval allowed was judged
    ``needs_approval`` by the ladder, and is replayed as such."""
    rows = list(
        ToolVerdict.objects.filter(created_at__gte=since)
        .order_by("-created_at", "-id")
        .values_list(
            "pk",
            "worker__name",
            "job_ref",
            "tool_name",
            "tool_input",
            "rule",
            "action",
            "verdict",
            "self_heal_request",
            "created_at",
        )[: limit + 1]
    )
    calls = [
        PastToolCall(
            decision_id=pk,
            worker=worker,
            job_ref=job_ref,
            tool_name=tool_name,
            tool_input=_stored_input(tool_input),
            rule=rule,
            action=action,
            decision="needs_approval" if request_id else verdict,
            created_at=created_at,
        )
        for (
            pk,
            worker,
            job_ref,
            tool_name,
            tool_input,
            rule,
            action,
            verdict,
            request_id,
            created_at,
        ) in reversed(rows[:limit])
    ]
    return calls, len(rows) > limit


def _stored_input(text: str) -> dict:
    """A logged input as an object; one its redaction or cut left unreadable as JSON is
    read as a command holding the text."""
    try:
        value = json.loads(text)
    except ValueError:
        return {"command": text}
    return value if isinstance(value, dict) else {"command": text}
