"""How many tasks wait in each Celery queue, read from the broker when /metrics is scraped.

Kombu answers a passive queue declaration with the queue's message count, whatever the
transport: on Redis the length of the queue's lists (one per priority step), on the
filesystem broker the number of message files for the queue. One connection per scrape,
one try, short timeouts: a broker that does not answer leaves the gauge out, never the page,
and sets ``pls_broker_up`` to 0.
"""

import logging
from collections.abc import Iterator

from celery import Celery
from django.conf import settings
from kombu.exceptions import ChannelError
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)


def queue_names(app: Celery) -> list[str]:
    """The default queue and every queue a task is routed to."""
    routes = app.conf.task_routes or {}
    routed = {route["queue"] for route in routes.values() if isinstance(route, dict)}
    return sorted({app.conf.task_default_queue, *routed})


def queue_depths(app: Celery, *, timeout: float) -> dict[str, int]:
    """Messages waiting per queue (a queue the broker has never seen, or has emptied, is 0).
    Raises what the broker raises when it cannot be reached."""
    options = {"max_retries": 0, "socket_connect_timeout": timeout, "socket_timeout": timeout}
    with app.connection_for_read(connect_timeout=timeout, transport_options=options) as conn:
        channel = conn.default_channel
        depths = {}
        for name in queue_names(app):
            try:
                depths[name] = channel.queue_declare(name, passive=True).message_count
            except ChannelError:  # Redis deletes a list when its last item is taken
                depths[name] = 0
        return depths


class QueueDepthCollector(Collector):
    def __init__(self, app: Celery) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "pls_broker_up",
            "1 when the Celery broker answered this scrape, 0 when it did not (/ready does "
            "not fail on it: reports wait in the outbox meanwhile).",
        )
        try:
            depths = queue_depths(self.app, timeout=settings.PLS_BROKER_PUBLISH_TIMEOUT_SECONDS)
        except Exception as exc:  # any broker or transport error: the rest of /metrics stands
            logger.warning("queue depths unavailable: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        family = GaugeMetricFamily(
            "pls_celery_queue_messages", "Tasks waiting in each Celery queue.", labels=["queue"]
        )
        for name, depth in depths.items():
            family.add_metric([name], depth)
        yield family
