"""Retention: old records aged out kind by kind, in small batches, never in one long lock.

Each kind of record that ages out is registered once (``register``), with the setting that
says how many days it is kept and the function that purges it; ``console.retention`` lists
them all in one table. ``retention_purge`` (the beat task ``console.tasks.retention_purge``)
runs every kind whose setting is above 0 and returns what each removed.

A purge walks the primary key upwards ``batch_size`` rows at a time and removes each batch in
its own transaction, so no statement holds locks on more than one batch and readers and
writers of newer rows never wait on it. What must stay (decisions, the audit trail, rows that
a kept row refers to) is left out by the kind's own query, never by a failed delete.
"""

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)

DEFAULT_BATCH = 1000


@dataclass(frozen=True)
class Kind:
    """One kind of record that ages out.

    ``purge(cutoff=…, batch_size=…)`` removes (or empties) what is older than ``cutoff`` and
    returns how many rows it touched. ``minimum_days``: a setting below it counts as it (the
    scorecard reads events 90 days back, say).
    """

    name: str
    setting: str
    purge: Callable[..., int]
    what: str
    minimum_days: int = 1

    def days(self) -> int:
        """Days this kind is kept; 0 keeps it for ever."""
        days = int(getattr(settings, self.setting, 0) or 0)
        return 0 if days <= 0 else max(days, self.minimum_days)


_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Adds (or replaces, by name) a kind; apps call it from ``AppConfig.ready``."""
    _KINDS[kind.name] = kind
    return kind


def kinds() -> list[Kind]:
    return list(_KINDS.values())


@dataclass(frozen=True)
class Purged:
    kind: str
    days: int  # 0: kept for ever, nothing looked at
    cutoff: datetime | None
    removed: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "cutoff": self.cutoff.isoformat() if self.cutoff else None,
            "removed": self.removed,
            "seconds": round(self.seconds, 3),
        }


def retention_purge(
    *, now: datetime | None = None, batch_size: int | None = None, only: list[str] | None = None
) -> dict[str, Purged]:
    """Purges every registered kind (or those named in ``only``) older than its setting.

    Returns, per kind, the days kept, the cutoff and the rows removed; each kind's line is
    logged too.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.PLS_RETENTION_BATCH
    if only is not None:
        unknown = set(only) - set(_KINDS)
        if unknown:
            raise ValueError(f"unknown retention kinds: {', '.join(sorted(unknown))}")
    summary: dict[str, Purged] = {}
    for kind in kinds():
        if only is not None and kind.name not in only:
            continue
        days = kind.days()
        if not days:
            summary[kind.name] = Purged(kind.name, 0, None, 0, 0.0)
            continue
        cutoff = now - timedelta(days=days)
        started = time.monotonic()
        removed = kind.purge(cutoff=cutoff, batch_size=batch_size)
        summary[kind.name] = Purged(kind.name, days, cutoff, removed, time.monotonic() - started)
        logger.info(
            "retention: %s: %d row(s) older than %d days (before %s)",
            kind.what,
            removed,
            days,
            cutoff.isoformat(),
        )
    return summary


def _ranges(queryset: QuerySet, batch_size: int) -> Iterator[tuple[Any, Any]]:
    """The primary-key ranges of ``queryset``'s rows, ``batch_size`` rows each, ascending;
    each range is read when the previous one has been dealt with."""
    last = None
    while True:
        page = queryset.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        ids = list(page.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return
        yield ids[0], ids[-1]
        if len(ids) < batch_size:
            return
        last = ids[-1]


def delete_in_batches(queryset: QuerySet, *, batch_size: int = DEFAULT_BATCH) -> int:
    """Deletes ``queryset``'s rows, one primary-key range per transaction; returns how many
    rows of its model went (rows of other models that cascade are not counted).

    Only the primary keys are loaded (``only("pk")``): a row's large text never comes into
    memory. The range is re-filtered by ``queryset``, so a row that stopped matching since
    it was listed (a lesson now refers to the event) stays.
    """
    label = queryset.model._meta.label
    removed = 0
    for low, high in _ranges(queryset, batch_size):
        with transaction.atomic():
            _, per_model = queryset.filter(pk__gte=low, pk__lte=high).only("pk").delete()
        removed += per_model.get(label, 0)
    return removed


def update_in_batches(queryset: QuerySet, *, batch_size: int = DEFAULT_BATCH, **values: Any) -> int:
    """Sets ``values`` on ``queryset``'s rows, one primary-key range per statement; returns
    how many rows changed. ``queryset`` must stop matching a row once it is updated."""
    changed = 0
    for low, high in _ranges(queryset, batch_size):
        changed += queryset.filter(pk__gte=low, pk__lte=high).update(**values)
    return changed
