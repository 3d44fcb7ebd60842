"""/metrics: this process's samples (or, under gunicorn's multi-process mode, every web
worker's), the shared metrics' database share, and the scrape-time collectors, merged so a
total is the same whichever process did the work (``core.metrics``).

A part that cannot be read (the database down) is left out with a warning; the page still
answers 200 with the rest, so a scrape never fails because one source did.
"""

import logging
import os
from collections.abc import Iterator

import prometheus_client
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from prometheus_client import multiprocess
from prometheus_client.core import Metric

from core.metrics import Merged, database_families, scrape_registry

logger = logging.getLogger(__name__)


def _process_families() -> Iterator[Metric]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        yield from registry.collect()
    else:
        yield from prometheus_client.REGISTRY.collect()


def _database_families() -> Iterator[Metric]:
    try:
        yield from list(database_families())
    except DatabaseError as exc:
        logger.warning("metric totals unavailable: %s", type(exc).__name__)


def metrics_view(request: HttpRequest) -> HttpResponse:
    merged = Merged([_process_families(), _database_families(), scrape_registry.collect()])
    return HttpResponse(
        prometheus_client.generate_latest(merged),  # type: ignore[arg-type]
        content_type=prometheus_client.CONTENT_TYPE_LATEST,
    )
