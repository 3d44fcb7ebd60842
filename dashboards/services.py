"""Keeping the per-day rollup of repair events current (the only writes of this app).

Why a rollup: the console home shows a 30-day sparkline and a scorecard over up to 90 days.
With a million events, counting them per page view costs hundreds of milliseconds and grows
with the table; the rollup holds one row per (day, gate, error class, action, decision), a
few thousand rows for a busy fleet, and readers add the "live tail" of events past the
high-water mark, counted from the primary key. The home then costs the same whatever the
size of the events table.

Three writes keep it right:

- ``event_rollup_advance`` (beat, every minute) adds the events received since the mark.
  It reads only events received at least ``PLS_ROLLUP_SETTLE_SECONDS`` ago: ids are handed
  out at INSERT, not at COMMIT, so a young event with a low id may still be uncommitted,
  and an event skipped below the mark would never be counted. The live tail covers the
  young ones meanwhile.
- The same run recomputes ``OutcomeDayCount`` (outcomes are set after an event, so they
  cannot be added up once) from the events at or below the mark, for the last
  ``PLS_ROLLUP_OUTCOME_DAYS`` days: where outcomes arrive. The rebuild recounts them all.
- ``event_rollup_rebuild`` (beat, hourly) recounts the whole window from the events table,
  which corrects anything a transaction that stayed open longer than the settle time slipped
  past the mark, and drops days older than the longest window.

All three hold the mark's row lock, so they never interleave, and write the rollup and the
mark in one transaction, so a reader sees both before or both after.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from core.clock import console_zone, local_date, local_midnight
from dashboards.models import EventDayCount, OutcomeDayCount, RollupMark
from repairs.models import Gate, Outcome, RepairEvent

EVENTS_MARK = "events"
# The longest scorecard window; older days are never read, so the rebuild drops them.
MAX_DAYS = 90

# Adds to a day's count in one statement (PostgreSQL, and SQLite since 3.24), so the
# rollup never reads a count to write it back.
_UPSERT = (
    "INSERT INTO dashboards_event_day_counts "
    "(day, gate, error_class, action, decision, count) VALUES (%s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (day, gate, error_class, action, decision) "
    "DO UPDATE SET count = dashboards_event_day_counts.count + excluded.count"
)


@dataclass(frozen=True)
class RollupRun:
    mark_before: int
    mark_after: int
    events: int  # events added to the rollup by this run
    keys: int  # rollup rows they touched


def first_kept_day(now: datetime) -> date:
    return local_date(now) - timedelta(days=MAX_DAYS - 1)


def event_rollup_advance(*, now: datetime | None = None) -> RollupRun:
    """Adds the settled events past the mark (at most ``PLS_ROLLUP_BATCH`` ids a run) to the
    rollup and recomputes the outcome figures up to the new mark."""
    now = now or timezone.now()
    settled = now - timedelta(seconds=settings.PLS_ROLLUP_SETTLE_SECONDS)
    with transaction.atomic():
        mark = _locked_mark()
        before = mark.event_id
        # Walks the primary key down from the newest event and stops at the first settled
        # one: a minute of events, not the table.
        upper = (
            RepairEvent.objects.filter(pk__gt=before, received_at__lte=settled)
            .order_by("-pk")
            .values_list("pk", flat=True)
            .first()
        )
        added, keys = 0, 0
        if upper is not None:
            # A batch is counted in ids from the first event past the mark (ids need not
            # start at 1); gaps in the ids only make a batch smaller.
            first = RepairEvent.objects.filter(pk__gt=before).order_by("pk").values("pk")[:1]
            upper = min(upper, first.get()["pk"] - 1 + settings.PLS_ROLLUP_BATCH)
            rows = list(_day_counts(RepairEvent.objects.filter(pk__gt=before, pk__lte=upper)))
            with connection.cursor() as cursor:
                cursor.executemany(_UPSERT, rows)
            added, keys = sum(row[-1] for row in rows), len(rows)
            mark.event_id = upper
            mark.save(update_fields=["event_id", "updated_at"])
        # Outcomes mostly arrive within hours of their event: the minute's run recounts the
        # last few days (a scan of those days, not the window); an outcome set on an older
        # event counts from the next hourly rebuild.
        _outcomes_recompute(mark=mark.event_id, now=now, days=settings.PLS_ROLLUP_OUTCOME_DAYS)
    return RollupRun(mark_before=before, mark_after=mark.event_id, events=added, keys=keys)


def event_rollup_rebuild(*, now: datetime | None = None) -> RollupRun:
    """Recounts the rollup of the last ``MAX_DAYS`` days from the events table, up to the
    current mark. Costs a scan of the window; beat runs it hourly."""
    now = now or timezone.now()
    first_day = first_kept_day(now)
    with transaction.atomic():
        mark = _locked_mark()
        events = RepairEvent.objects.filter(
            pk__lte=mark.event_id, occurred_at__gte=local_midnight(first_day)
        )
        rows = list(_day_counts(events))
        EventDayCount.objects.all().delete()
        EventDayCount.objects.bulk_create(
            EventDayCount(
                day=day,
                gate=gate,
                error_class=error_class,
                action=action,
                decision=decision,
                count=count,
            )
            for day, gate, error_class, action, decision, count in rows
        )
        _outcomes_recompute(mark=mark.event_id, now=now)
    total = sum(row[-1] for row in rows)
    return RollupRun(
        mark_before=mark.event_id, mark_after=mark.event_id, events=total, keys=len(rows)
    )


def _locked_mark() -> RollupMark:
    RollupMark.objects.get_or_create(name=EVENTS_MARK)
    return RollupMark.objects.select_for_update().get(name=EVENTS_MARK)


def event_day(field: str = "occurred_at") -> TruncDate:
    """The day of an event on the console's calendar (``PLS_TIME_ZONE``), whatever the
    connection's or the reader's zone: the rollup is one for everyone."""
    return TruncDate(field, tzinfo=console_zone())


def _day_counts(events: QuerySet[RepairEvent]) -> QuerySet:
    return (
        events.annotate(day=event_day())
        .order_by()
        .values_list("day", "gate", "error_class", "action", "decision")
        .annotate(n=Count("pk"))
    )


def outcome_events(events: QuerySet[RepairEvent]) -> dict[str, QuerySet[RepairEvent]]:
    """The events each outcome figure reads, by ``OutcomeDayCount.Kind``. Shared with the
    selectors' live tail, so both count the same events."""
    known = events.exclude(outcome="")
    return {
        OutcomeDayCount.Kind.RETRY: known.filter(action="retry", decision="allowed"),
        OutcomeDayCount.Kind.STUCK_CLAIM: known.filter(gate=Gate.STUCK_CLAIM),
    }


def outcome_day_counts(events: QuerySet[RepairEvent]) -> QuerySet:
    """(day, outcome, count, time to resolution summed) of ``events``. The time counts only
    for resolved events: a failed repair has no resolution time."""
    took = ExpressionWrapper(F("resolved_at") - F("occurred_at"), output_field=DurationField())
    return (
        events.annotate(day=event_day())
        .order_by()
        .values_list("day", "outcome")
        .annotate(n=Count("pk"), took=Sum(took))
    )


def _outcomes_recompute(*, mark: int, now: datetime, days: int = MAX_DAYS) -> None:
    """Recounts the outcome figures of the last ``days`` days up to ``mark``."""
    first_day = max(local_date(now) - timedelta(days=days - 1), first_kept_day(now))
    events = RepairEvent.objects.filter(pk__lte=mark, occurred_at__gte=local_midnight(first_day))
    rows = []
    for kind, chosen in outcome_events(events).items():
        for day, outcome, count, took in outcome_day_counts(chosen):
            seconds = took.total_seconds() if took and outcome == Outcome.RESOLVED else 0.0
            rows.append(
                OutcomeDayCount(
                    day=day, kind=kind, outcome=outcome, count=count, resolve_seconds=seconds
                )
            )
    OutcomeDayCount.objects.filter(day__gte=first_day).delete()
    OutcomeDayCount.objects.filter(day__lt=first_kept_day(now)).delete()
    OutcomeDayCount.objects.bulk_create(rows)
