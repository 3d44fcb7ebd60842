"""The project's Prometheus counters, created with every label at zero."""

from prometheus_client import Counter, disable_created_metrics

from repairs.models import Gate

# The *_created series double the output and no dashboard here reads them.
disable_created_metrics()

repair_events = Counter("pls_repair_events_total", "Repair events accepted, by gate.", ["gate"])
idempotent_replays = Counter(
    "pls_repair_event_replays_total", "Repeated requests answered from an earlier event."
)
evidence_redactions = Counter(
    "pls_evidence_redactions_total", "Secrets cut out of worker evidence before storage."
)
auth_failures = Counter(
    "pls_api_auth_failures_total", "Requests refused for an unknown or revoked token."
)

for _gate in Gate.values:
    repair_events.labels(gate=_gate)
