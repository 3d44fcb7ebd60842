"""Outbox metrics, read from the database when /metrics is scraped.

The drain runs in Celery processes (other hosts, even) while /metrics is served by gunicorn,
whose multi-process mode only sums files its own workers write. Counting in the database,
where the drain already writes, and reading it at scrape time gives one true figure
whichever process answers. Totals are kept on the channel rows, so purging old reports does
not make a counter go backwards.
"""

import logging
from collections.abc import Iterator

from django.db import DatabaseError
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from core.metrics import Histogram, Where, scrape_registry
from notifications import selectors

logger = logging.getLogger(__name__)


# Delivery latency: ``DATABASE`` (core.metrics). Reports are sent only by Celery's drains,
# in other containers than the web, a few a minute; a row update per drain run costs nothing.
# From a report entering the outbox to its provider accepting it: backoff can make it hours.
delivery_latency = Histogram(
    "pls_outbox_delivery_latency_seconds",
    "Time from a report entering the outbox to its channel's provider accepting it.",
    ["channel"],
    where=Where.DATABASE,
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600),
)


class OutboxCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        try:
            depth = selectors.outbox_depth()
            totals = selectors.channel_totals()
            oldest = selectors.oldest_pending_age()
        except DatabaseError as exc:
            # /metrics must still answer with everything else while the database is down.
            logger.warning("outbox metrics unavailable: %s", type(exc).__name__)
            return

        depth_family = GaugeMetricFamily(
            "pls_outbox_reports",
            'Reports waiting in the outbox, by channel and state (unrouted: channel "").',
            labels=["channel", "state"],
        )
        for row in depth:
            depth_family.add_metric([row.channel, row.state], row.count)
        yield depth_family

        oldest_family = GaugeMetricFamily(
            "pls_outbox_oldest_pending_seconds",
            "Age of the oldest report waiting for its channel (0 when none waits).",
        )
        oldest_family.add_metric([], oldest or 0.0)
        yield oldest_family

        sends = CounterMetricFamily(
            "pls_notification_sends",
            "Send attempts by channel and result (sent, transient_error, permanent_error).",
            labels=["channel", "result"],
        )
        suppressed = CounterMetricFamily(
            "pls_notification_suppressed_duplicates",
            "Reports not sent because their dedup key was sent within the cooldown.",
            labels=["channel"],
        )
        for row in totals:
            sends.add_metric([row.channel, "sent"], row.sent)
            sends.add_metric([row.channel, "transient_error"], row.transient_errors)
            sends.add_metric([row.channel, "permanent_error"], row.permanent_errors)
            suppressed.add_metric([row.channel], row.suppressed)
        yield sends
        yield suppressed


_registered = False


def register() -> None:
    """Adds the outbox collector to /metrics, once however often the app is made ready."""
    global _registered
    if not _registered:
        scrape_registry.register(OutboxCollector())
        _registered = True
