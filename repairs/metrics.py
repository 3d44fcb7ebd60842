"""The project's Prometheus counters, created with every label at zero."""

from prometheus_client import Counter, disable_created_metrics

from repairs.models import Gate

# The *_created series double the output and no dashboard here reads them.
disable_created_metrics()

repair_events = Counter("pls_repair_events_total", "Repair events accepted, by gate.", ["gate"])
evidence_redactions = Counter(
    "pls_evidence_redactions_total", "Secrets cut out of worker evidence before storage."
)
auth_failures = Counter(
    "pls_api_auth_failures_total", "Requests refused for an unknown or revoked token."
)
verdicts = Counter("pls_verdicts_total", "Verdicts given on worker actions.", ["decision"])
proposals_raised = Counter(
    "pls_repair_proposals_raised_total", "Repair proposals raised by repeated fingerprints."
)
self_heal_decisions = Counter(
    "pls_self_heal_decisions_total", "Self-heal requests settled, by outcome.", ["status"]
)
callbacks = Counter(
    "pls_self_heal_callbacks_total", "Signed decision callbacks sent to workers.", ["result"]
)

for _gate in Gate.values:
    repair_events.labels(gate=_gate)
for _decision in ("allowed", "needs_approval", "denied"):
    verdicts.labels(decision=_decision)
for _status in ("approved", "rejected", "expired"):
    self_heal_decisions.labels(status=_status)
for _result in ("delivered", "failed", "refused"):
    callbacks.labels(result=_result)
