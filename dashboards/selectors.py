"""The queries behind the scorecard, the console home and the daily digest.

Event figures come from the rollup (``dashboards.models``) plus the live tail of events past
its mark; every other figure comes from tables that grow with human decisions or with the
number of workers and jobs, read through their indexes. Each function costs a fixed number
of queries, whatever the size of the data.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast
from django.db.models.lookups import GreaterThanOrEqual

from artifacts.models import ArtifactGateCheck
from core.clock import local_date, local_midnight, local_month
from dashboards.models import EventDayCount, OutcomeDayCount, RollupMark
from dashboards.services import (
    EVENTS_MARK,
    event_day,
    outcome_day_counts,
    outcome_events,
)
from learning.models import LearningMemoryUpdate
from policies.models import PolicyDecision, Proposal
from repairs.models import Gate, Outcome, RepairEvent, SelfHealRequest, ToolVerdict, Worker

RETRY = OutcomeDayCount.Kind.RETRY
STUCK = OutcomeDayCount.Kind.STUCK_CLAIM


def midnight(day: date) -> datetime:
    """The start of ``day`` on the console's calendar."""
    return local_midnight(day)


def window_days(days: int, now: datetime) -> list[date]:
    """The ``days`` calendar days (the console's, ``PLS_TIME_ZONE``) that end today, oldest
    first."""
    today = local_date(now)
    return [today - timedelta(days=n) for n in range(days - 1, -1, -1)]


@dataclass
class OutcomeTally:
    resolved: int = 0
    failed: int = 0
    resolve_seconds: float = 0.0

    def add(self, outcome: str, count: int, seconds: float) -> None:
        if outcome == Outcome.RESOLVED:
            self.resolved += count
            self.resolve_seconds += seconds
        elif outcome == Outcome.FAILED:
            self.failed += count


@dataclass
class EventFigures:
    """Repair events of a window, counted from the rollup and the live tail."""

    by_gate: Counter = field(default_factory=Counter)
    by_error_class: Counter = field(default_factory=Counter)
    by_decision: Counter = field(default_factory=Counter)
    retries_allowed: int = 0
    stuck_claims: int = 0
    lease_expired: int = 0
    completions_blocked: int = 0
    per_day: Counter = field(default_factory=Counter)  # over the longer of the two spans
    outcomes: dict[str, OutcomeTally] = field(
        default_factory=lambda: {RETRY: OutcomeTally(), STUCK: OutcomeTally()}
    )
    mark: int = 0
    tail: int = 0  # events counted live, past the mark

    @property
    def total(self) -> int:
        return sum(self.by_gate.values())

    def add(self, gate: str, error_class: str, action: str, decision: str, count: int) -> None:
        self.by_gate[gate] += count
        self.by_error_class[error_class] += count
        if decision:
            self.by_decision[decision] += count
        if action == "retry" and decision == "allowed":
            self.retries_allowed += count
        if gate == Gate.STUCK_CLAIM:
            self.stuck_claims += count
            if error_class == "lease_expired":
                self.lease_expired += count
        if gate == Gate.ARTIFACT_GUARD and error_class == "completion_blocked":
            self.completions_blocked += count


def rollup_mark() -> int:
    """How far the rollup has counted (0 before its first run)."""
    return (
        RollupMark.objects.filter(name=EVENTS_MARK).values_list("event_id", flat=True).first() or 0
    )


def event_figures(*, first_day: date, per_day_from: date | None = None) -> EventFigures:
    """Events that occurred from ``first_day`` (the console's calendar) on, and events per day from
    ``per_day_from`` (default: ``first_day``). Eight queries, whatever the table's size."""
    per_day_from = per_day_from or first_day
    earliest = min(first_day, per_day_from)
    figures = EventFigures()
    for _attempt in range(3):
        figures = EventFigures()
        mark = rollup_mark()
        combos = (
            EventDayCount.objects.filter(day__gte=first_day)
            .order_by()
            .values_list("gate", "error_class", "action", "decision")
            .annotate(n=Sum("count"))
        )
        for gate, error_class, action, decision, count in combos:
            figures.add(gate, error_class, action, decision, count)
        days = (
            EventDayCount.objects.filter(day__gte=per_day_from)
            .order_by()
            .values_list("day")
            .annotate(n=Sum("count"))
        )
        figures.per_day.update(dict(days))
        outcomes = (
            OutcomeDayCount.objects.filter(day__gte=first_day)
            .order_by()
            .values_list("kind", "outcome")
            .annotate(n=Sum("count"), seconds=Sum("resolve_seconds"))
        )
        for kind, outcome, count, seconds in outcomes:
            figures.outcomes[kind].add(outcome, count, seconds or 0.0)
        # The rollup and its mark are written in one transaction; if the mark moved while
        # the rollup was read, the figures may count some events twice: read again.
        if rollup_mark() == mark:
            break
    figures.mark = mark
    tail = RepairEvent.objects.filter(pk__gt=mark, occurred_at__gte=midnight(earliest))
    rows = (
        tail.annotate(day=event_day())
        .order_by()
        .values_list("day", "gate", "error_class", "action", "decision")
        .annotate(n=Count("pk"))
    )
    for day, gate, error_class, action, decision, count in rows:
        figures.tail += count
        if day >= first_day:
            figures.add(gate, error_class, action, decision, count)
        if day >= per_day_from:
            figures.per_day[day] += count
    recent = tail.filter(occurred_at__gte=midnight(first_day))
    for kind, chosen in outcome_events(recent).items():
        for _day, outcome, count, took in outcome_day_counts(chosen):
            seconds = took.total_seconds() if took else 0.0
            figures.outcomes[kind].add(outcome, count, seconds)
    return figures


# --- Self-heal requests -----------------------------------------------------------------------


def self_heal_status_counts(*, since: datetime) -> Counter:
    """Self-heal requests raised since ``since``, by status."""
    rows = (
        SelfHealRequest.objects.filter(created_at__gte=since)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    return Counter(dict(rows))


# A person decides each request, so a window holds hundreds, not millions; the cap keeps a
# pathological one (a script approving in bulk) from loading them all.
LATENCY_SAMPLE = 10_000


def approval_latencies(*, since: datetime) -> list[float]:
    """Seconds from raising to deciding each request approved or rejected among those raised
    since ``since`` (the newest ``LATENCY_SAMPLE``), ascending."""
    decided = (
        SelfHealRequest.objects.filter(
            created_at__gte=since,
            status__in=[SelfHealRequest.Status.APPROVED, SelfHealRequest.Status.REJECTED],
            decided_at__isnull=False,
        )
        .order_by("-created_at")
        .values_list("created_at", "decided_at")[:LATENCY_SAMPLE]
    )
    return sorted(
        max((done - raised).total_seconds(), 0.0) for raised, done in decided if done is not None
    )


def pending_self_heal_requests(*, limit: int) -> tuple[list[SelfHealRequest], int]:
    """The oldest ``limit`` pending requests, oldest first, and how many are pending."""
    pending = SelfHealRequest.objects.filter(status=SelfHealRequest.Status.PENDING)
    rows = list(pending.select_related("worker", "event").order_by("created_at", "pk")[:limit])
    total = len(rows) if len(rows) < limit else pending.count()
    return rows, total


# --- Tool verdicts ----------------------------------------------------------------------------


def tool_verdict_counts(*, since: datetime) -> tuple[Counter, Counter]:
    """Tool-call verdicts given since ``since``: by decision, and by the rule that matched."""
    rows = (
        ToolVerdict.objects.filter(created_at__gte=since)
        .order_by()
        .values_list("verdict", "rule")
        .annotate(n=Count("pk"))
    )
    by_decision: Counter = Counter()
    by_rule: Counter = Counter()
    for verdict, rule, count in rows:
        by_decision[verdict] += count
        by_rule[rule] += count
    return by_decision, by_rule


# --- Artifacts, proposals, learning -----------------------------------------------------------


def artifact_check_counts(*, since: datetime) -> Counter:
    rows = (
        ArtifactGateCheck.objects.filter(created_at__gte=since)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    return Counter(dict(rows))


def proposal_figures(*, since: datetime) -> dict[str, int]:
    """Proposals adopted and rejected by a decision made since ``since``, and how many are
    undecided now (open or deferred)."""
    decided = (
        PolicyDecision.objects.filter(
            decided_at__gte=since,
            proposal__isnull=False,
            decision__in=[PolicyDecision.Decision.ADOPT, PolicyDecision.Decision.REJECT],
        )
        .order_by()
        .values_list("decision")
        .annotate(n=Count("proposal", distinct=True))
    )
    counts = dict(decided)
    return {
        "adopted": counts.get(PolicyDecision.Decision.ADOPT, 0),
        "rejected": counts.get(PolicyDecision.Decision.REJECT, 0),
        "open": Proposal.objects.filter(status__in=Proposal.UNDECIDED).count(),
    }


def undecided_proposals(*, limit: int) -> list[Proposal]:
    """Repair and friction proposals waiting for a decision, oldest first."""
    return list(
        Proposal.objects.filter(status__in=Proposal.UNDECIDED)
        .exclude(kind=Proposal.Kind.POLICY_QUESTION)
        .order_by("created_at", "pk")[:limit]
    )


def open_policy_questions() -> list[Proposal]:
    return list(
        Proposal.objects.filter(
            kind=Proposal.Kind.POLICY_QUESTION, status__in=Proposal.UNDECIDED
        ).order_by("pk")
    )


def learning_counts(*, since: datetime) -> Counter:
    rows = (
        LearningMemoryUpdate.objects.filter(created_at__gte=since)
        .order_by()
        .values_list("kind")
        .annotate(n=Count("pk"))
    )
    return Counter(dict(rows))


# --- Workers ----------------------------------------------------------------------------------


def _spent(now: datetime) -> Case:
    """This month's spend: a spend counted for an earlier month is 0 now, as the budget
    service starts each month at 0 (its month is ``local_month`` too)."""
    return Case(
        When(budget_month=local_month(now), then=F("month_spend_cents")),
        default=Value(0),
        output_field=IntegerField(),
    )


def _use(now: datetime) -> Case:
    """Spent / budget; NULL without a budget."""
    return Case(
        When(
            monthly_budget_cents__gt=0,
            then=Cast(_spent(now), FloatField()) / Cast("monthly_budget_cents", FloatField()),
        ),
        default=None,
        output_field=FloatField(),
    )


def _with_budget_use(workers: QuerySet[Worker], now: datetime) -> QuerySet[Worker]:
    """Annotates ``spent`` and ``use``. (Aggregates spell the expressions out: an aggregate
    over an annotation's alias is not portable.)"""
    return workers.annotate(spent=_spent(now), use=_use(now))


def worker_status_counts() -> Counter:
    rows = Worker.objects.order_by().values_list("status").annotate(n=Count("pk"))
    return Counter(dict(rows))


def budget_figures(*, now: datetime) -> dict:
    """The fleet's spend against its budgets this month (workers with a budget only)."""
    use = _use(now)
    totals = Worker.objects.filter(monthly_budget_cents__gt=0).aggregate(
        spent=Sum(_spent(now)),
        budget=Sum("monthly_budget_cents"),
        budgeted=Count("pk"),
        over_80=Count("pk", filter=Q(GreaterThanOrEqual(use, 0.8))),
        over_100=Count("pk", filter=Q(GreaterThanOrEqual(use, 1.0))),
    )
    spent, budget = totals["spent"] or 0, totals["budget"] or 0
    return {
        "spent_cents": spent,
        "budget_cents": budget,
        "use": round(spent / budget, 4) if budget else None,
        "workers_with_budget": totals["budgeted"],
        "workers_over_80_percent": totals["over_80"],
        "workers_over_100_percent": totals["over_100"],
    }


# The board's order: what needs a human first.
STATUS_RANK = {
    Worker.Status.ERROR: 0,
    Worker.Status.PAUSED: 1,
    Worker.Status.RUNNING: 2,
    Worker.Status.IDLE: 3,
}


def worker_board(*, now: datetime, limit: int) -> list[Worker]:
    """Workers for the status board: in error, then paused, running and idle; within each,
    the highest budget use first. Each carries ``spent`` and ``use``."""
    rank = Case(
        *(When(status=status, then=Value(n)) for status, n in STATUS_RANK.items()),
        default=Value(len(STATUS_RANK)),
        output_field=IntegerField(),
    )
    return list(
        _with_budget_use(Worker.objects.all(), now)
        .annotate(rank=rank)
        .order_by("rank", F("use").desc(nulls_last=True), "name")[:limit]
    )
