"""The repairs app's Prometheus metrics, created with every label at zero.

Where each one's samples live (``core.metrics.Where``), and why:
- Events, verdicts, redactions, proposals: ``PROCESS``. Most arrive on the request path at
  hundreds a second, where a row update per event would queue every ingest on one hot row;
  gunicorn's workers share them through the multi-process files. Those recorded in Celery
  (stuck-claim watchdog, artifact checks) go to the database from there.
- Replays and authentication failures: ``PROCESS``; they happen only on requests.
- Self-heal decisions: read from the requests at scrape time (``SelfHealCollector``). A
  decided request is kept for ever (decisions are never purged), so the count only grows,
  and it is the same whether a person decided on the web or the Celery sweep expired it.
- Callbacks: ``DATABASE``; only Celery sends them, a few a minute at most.
- Approval latency: ``PROCESS``; observed when a person decides, on the web.
"""

import logging
from collections.abc import Iterator

from django.db import DatabaseError
from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from core.metrics import Counter, Histogram, Where, scrape_registry
from repairs.models import Gate, SelfHealRequest

logger = logging.getLogger(__name__)

repair_events = Counter(
    "pls_repair_events", "Repair events accepted, by gate.", ["gate"], where=Where.PROCESS
)
evidence_redactions = Counter(
    "pls_evidence_redactions",
    "Secrets cut out of worker evidence before storage.",
    where=Where.PROCESS,
)
auth_failures = Counter(
    "pls_api_auth_failures",
    "Requests refused for an unknown or revoked token.",
    where=Where.PROCESS,
)
verdicts = Counter(
    "pls_verdicts", "Verdicts given on worker actions.", ["decision"], where=Where.PROCESS
)
proposals_raised = Counter(
    "pls_repair_proposals_raised",
    "Repair proposals raised by repeated fingerprints.",
    where=Where.PROCESS,
)
callbacks = Counter(
    "pls_self_heal_callbacks",
    "Signed decision callbacks sent to workers.",
    ["result"],
    where=Where.DATABASE,
)
# From a request's creation to a person's decision: seconds to hours.
approval_latency = Histogram(
    "pls_self_heal_approval_latency_seconds",
    "Time from a self-heal request to a person's decision, by outcome.",
    ["status"],
    where=Where.PROCESS,
    buckets=(10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600),
)

for _gate in Gate.values:
    repair_events.labels(gate=_gate)
for _decision in ("allowed", "needs_approval", "denied"):
    verdicts.labels(decision=_decision)
for _result in ("delivered", "failed", "refused"):
    callbacks.labels(result=_result)
for _status in ("approved", "rejected"):
    approval_latency.labels(status=_status)

SETTLED = (
    SelfHealRequest.Status.APPROVED,
    SelfHealRequest.Status.REJECTED,
    SelfHealRequest.Status.EXPIRED,
)


class SelfHealCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        try:
            counts = dict(
                SelfHealRequest.objects.filter(status__in=SETTLED)
                .values_list("status")
                .annotate(n=Count("pk"))
                .values_list("status", "n")
            )
        except DatabaseError as exc:
            logger.warning("self-heal metrics unavailable: %s", type(exc).__name__)
            return
        family = CounterMetricFamily(
            "pls_self_heal_decisions",
            "Self-heal requests settled, by outcome (approved, rejected, expired).",
            labels=["status"],
        )
        for status in SETTLED:
            family.add_metric([status.value], counts.get(status, 0))
        yield family


_registered = False


def register() -> None:
    global _registered
    if not _registered:
        scrape_registry.register(SelfHealCollector())
        _registered = True
