"""Prometheus metrics that show the same totals whichever process did the work.

The web runs as several gunicorn workers, Celery as other processes (other containers, other
hosts). A sample lives in one of two places, chosen per metric (``Where``) in the module that
defines it, with the reason beside it:

- ``Where.PROCESS``: in the process that does the work. gunicorn's workers share theirs
  through prometheus_client's multi-process files (``PROMETHEUS_MULTIPROC_DIR``), which
  /metrics sums. A Celery worker's files would never be read by the web (another container),
  so a process started by ``celery worker`` (``count_in_database()``, called from
  config/celery.py) adds its share to the database instead. For work done mostly on the
  request path, where a row update per increment would serialise requests on one hot row.
- ``Where.DATABASE``: always a row of ``pls_metric_totals``, whatever the process. For work
  done at a low rate, mostly in Celery.

A database share is added after the work's transaction commits (rolled-back work counts for
nothing) and never fails the work. A Celery worker holds its shares and writes them once
after each task (``hold_until_flushed``, ``flush``): an outbox drain settles hundreds of
reports a task, and a write per report took half the worker's CPU. /metrics
(``console.metrics``) merges the process samples, the database rows and the scrape-time
collectors of ``scrape_registry``, summing samples with the same name and labels. Rows are
never purged, so a total never goes back.
"""

import enum
import json
import logging
import math
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence

import prometheus_client
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

logger = logging.getLogger(__name__)

# The *_created series double the output and no dashboard here reads them.
prometheus_client.disable_created_metrics()

# Collectors that compute their samples at scrape time (from the database, the broker). Apps
# register theirs from ``AppConfig.ready()``; /metrics appends them in either gunicorn mode.
scrape_registry = CollectorRegistry(auto_describe=False)


class Where(enum.Enum):
    PROCESS = "process"
    DATABASE = "database"


_in_database = False
# Shares committed but not written yet, while this process holds them (None: it does not).
_held: dict[tuple[str, str], float] | None = None
_held_lock = threading.Lock()


def count_in_database() -> None:
    """From now on this process adds ``Where.PROCESS`` samples to the database (a Celery
    worker: its own files would never reach /metrics)."""
    global _in_database
    _in_database = True


def hold_until_flushed() -> None:
    """From now on this process sums its committed database shares in memory until
    ``flush()`` (a Celery worker, after each task). What it holds when it dies is lost, as a
    process's own samples are."""
    global _held
    with _held_lock:
        if _held is None:
            _held = defaultdict(float)


def flush() -> None:
    """Writes the database shares this process holds, in one transaction."""
    with _held_lock:
        if not _held:
            return
        increments = dict(_held)
        _held.clear()
    _write(increments)


def _labels_key(labels: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(labels.items())), separators=(",", ":")) if labels else ""


_defined: dict[str, "_Shared"] = {}


class _Shared:
    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str] = (), *, where: Where
    ) -> None:
        self.name, self.documentation, self.where = name, documentation, where
        self.labelnames = tuple(labelnames)
        self.process = self._process_metric()
        _defined[name] = self

    def _process_metric(self) -> prometheus_client.metrics.MetricWrapperBase:
        raise NotImplementedError

    def _in_database(self) -> bool:
        return self.where is Where.DATABASE or _in_database

    def _child(self, labels: Mapping[str, str]):  # type: ignore[no-untyped-def]
        return self.process.labels(**labels) if labels else self.process

    def family(self, rows: Mapping[tuple[str, str], float]) -> Metric:
        raise NotImplementedError


class Counter(_Shared):
    """``name`` without ``_total``; ``inc()`` directly or on ``labels(...)``."""

    def _process_metric(self) -> prometheus_client.Counter:
        return prometheus_client.Counter(self.name, self.documentation, self.labelnames)

    def labels(self, **labels: str) -> "_Bound":
        self._child(labels)  # created at zero, as prometheus_client does
        return _Bound(self, labels)

    def inc(self, amount: float = 1, labels: Mapping[str, str] | None = None) -> None:
        labels = labels or {}
        if self._in_database():
            _database_add({(f"{self.name}_total", _labels_key(labels)): amount})
        else:
            self._child(labels).inc(amount)

    def family(self, rows: Mapping[tuple[str, str], float]) -> Metric:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for (sample, key), value in rows.items():
            if sample == f"{self.name}_total":
                labels = json.loads(key) if key else {}
                family.add_metric([labels[name] for name in self.labelnames], value)
        return family


class Histogram(_Shared):
    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        where: Where,
        buckets: Sequence[float],
    ) -> None:
        self.buckets = (*buckets, math.inf)
        super().__init__(name, documentation, labelnames, where=where)

    def _process_metric(self) -> prometheus_client.Histogram:
        return prometheus_client.Histogram(
            self.name, self.documentation, self.labelnames, buckets=self.buckets
        )

    def labels(self, **labels: str) -> "_Bound":
        self._child(labels)
        return _Bound(self, labels)

    def observe(self, value: float, labels: Mapping[str, str] | None = None) -> None:
        labels = labels or {}
        if not self._in_database():
            self._child(labels).observe(value)
            return
        key = _labels_key(labels)
        increments = {(f"{self.name}_count", key): 1.0, (f"{self.name}_sum", key): value}
        for bound in self.buckets:
            bucket_key = _labels_key({**labels, "le": floatToGoString(bound)})
            # Every bucket gets a row, so the histogram is whole from its first observation.
            increments[(f"{self.name}_bucket", bucket_key)] = 1.0 if value <= bound else 0.0
        _database_add(increments)

    def family(self, rows: Mapping[tuple[str, str], float]) -> Metric:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        by_labels: dict[str, dict[str, float]] = defaultdict(dict)
        for (sample, key), value in rows.items():
            if sample == f"{self.name}_bucket":
                labels = json.loads(key)
                by_labels[_labels_key({k: v for k, v in labels.items() if k != "le"})][
                    labels["le"]
                ] = value
        for key, buckets in by_labels.items():
            labels = json.loads(key) if key else {}
            family.add_metric(
                [labels[name] for name in self.labelnames],
                [(floatToGoString(b), buckets.get(floatToGoString(b), 0.0)) for b in self.buckets],
                rows.get((f"{self.name}_sum", key), 0.0),
            )
        return family


class _Bound:
    def __init__(self, metric: Counter | Histogram, labels: Mapping[str, str]) -> None:
        self.metric, self.labels = metric, labels

    def inc(self, amount: float = 1) -> None:
        assert isinstance(self.metric, Counter)
        self.metric.inc(amount, self.labels)

    def observe(self, value: float) -> None:
        assert isinstance(self.metric, Histogram)
        self.metric.observe(value, self.labels)


def _database_add(increments: Mapping[tuple[str, str], float]) -> None:
    transaction.on_commit(lambda: _committed(dict(increments)), robust=True)


def _committed(increments: dict[tuple[str, str], float]) -> None:
    with _held_lock:
        if _held is not None:
            for sample_key, amount in increments.items():
                _held[sample_key] += amount
            return
    _write(increments)


def _write(increments: dict[tuple[str, str], float]) -> None:
    from core.models import MetricTotal

    try:
        with transaction.atomic():
            MetricTotal.objects.bulk_create(
                [MetricTotal(sample=sample, labels=key) for sample, key in increments],
                ignore_conflicts=True,
            )
            by_amount: dict[float, list[tuple[str, str]]] = defaultdict(list)
            for sample_key, amount in increments.items():
                if amount:
                    by_amount[amount].append(sample_key)
            for amount, keys in by_amount.items():
                match = Q()
                for sample, key in keys:
                    match |= Q(sample=sample, labels=key)
                MetricTotal.objects.filter(match).update(value=F("value") + amount)
    except DatabaseError as exc:
        # A lost increment is better than failed work; the log says which.
        logger.warning("metric totals not written (%s): %s", type(exc).__name__, increments)


def database_families() -> Iterator[Metric]:
    """Every shared metric's database share, read at scrape time."""
    from core.models import MetricTotal

    rows = {
        (sample, key): value
        for sample, key, value in MetricTotal.objects.values_list("sample", "labels", "value")
    }
    for metric in _defined.values():
        family = metric.family(rows)
        if family.samples:
            yield family


class Merged(Collector):
    """The families of ``sources`` as one collector: samples with the same name and labels
    are summed (a web worker's share and the database's), others are kept side by side."""

    def __init__(self, sources: Iterable[Iterable[Metric]]) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        for source in self.sources:
            for family in source:
                into = merged.get(family.name)
                if into is None:
                    merged[family.name] = into = Metric(
                        family.name, family.documentation, family.type, family.unit
                    )
                _add_samples(into, family.samples)
        yield from merged.values()


def _add_samples(into: Metric, samples: Iterable[prometheus_client.samples.Sample]) -> None:
    index = {(s.name, tuple(sorted(s.labels.items()))): i for i, s in enumerate(into.samples)}
    for sample in samples:
        at = index.get((sample.name, tuple(sorted(sample.labels.items()))))
        if at is None:
            index[(sample.name, tuple(sorted(sample.labels.items())))] = len(into.samples)
            into.samples.append(sample)
        else:
            into.samples[at] = into.samples[at]._replace(
                value=into.samples[at].value + sample.value
            )
