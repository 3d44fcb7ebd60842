"""The per-day rollup the console home and the scorecard read instead of the events table.

Counting a 30-day window of a million ``worker_repair_events`` rows on every page view
costs hundreds of milliseconds on PostgreSQL and grows with the fleet. A beat task
(``dashboards.tasks.event_rollup``, every minute) adds the events received since its
high-water mark (``RollupMark``) to ``EventDayCount``; readers add the live tail past the
mark, counted from the primary key. A page then reads a few hundred small rows whatever the
size of the events table. See ``dashboards.services.event_rollup_advance``.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EventDayCount(models.Model):
    """Events that occurred on ``day`` (the console's calendar, ``PLS_TIME_ZONE``) with one
    combination of the attributes that never change after an event is written: its gate,
    error class, requested action and the policy's decision on it."""

    day = models.DateField()
    gate = models.CharField(max_length=20)
    error_class = models.CharField(max_length=100)
    action = models.CharField(max_length=40, blank=True)
    decision = models.CharField(max_length=20, blank=True)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        db_table = "dashboards_event_day_counts"
        verbose_name = _("event day count")
        verbose_name_plural = _("event day counts")
        constraints = [
            # Also the index every reader uses: the window is a range of days.
            models.UniqueConstraint(
                fields=["day", "gate", "error_class", "action", "decision"],
                name="event_day_count_one_row_per_key",
            )
        ]
        # The scorecard's own right, so workers (who may read their own events) do not read
        # the fleet's figures; people in every human role hold it (migration 0002).
        permissions = [("view_scorecard", _("Can read the reliability scorecard"))]

    def __str__(self) -> str:
        return f"{self.day} {self.gate}/{self.error_class}: {self.count}"


class OutcomeDayCount(models.Model):
    """Events of ``day`` whose outcome is known, for the two figures that depend on it: the
    retry success rate (``kind`` retry: allowed retries) and the time to resolve a stuck
    claim (``kind`` stuck_claim). An outcome is set after the event, at any later time, so
    these rows are recomputed on each rollup run instead of added to."""

    class Kind(models.TextChoices):
        RETRY = "retry"
        STUCK_CLAIM = "stuck_claim"

    day = models.DateField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    outcome = models.CharField(max_length=10)
    count = models.PositiveBigIntegerField(default=0)
    # Sum of resolved_at - occurred_at over these events, for the mean time to resolution.
    resolve_seconds = models.FloatField(default=0)

    class Meta:
        db_table = "dashboards_outcome_day_counts"
        verbose_name = _("outcome day count")
        verbose_name_plural = _("outcome day counts")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "kind", "outcome"], name="outcome_day_count_one_row_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.outcome}: {self.count}"


class RollupMark(models.Model):
    """How far the rollup has read: every event with an id up to ``event_id`` is counted in
    the rollup tables, every later one is the live tail."""

    name = models.CharField(max_length=30, primary_key=True)
    event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "dashboards_rollup_marks"
        verbose_name = _("rollup mark")
        verbose_name_plural = _("rollup marks")

    def __str__(self) -> str:
        return f"{self.name} up to event #{self.event_id}"
