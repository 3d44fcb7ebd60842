"""The policies app's Prometheus metrics (``core.metrics``).

Tool-verdict latency: ``PROCESS``. A verdict is asked for on the request path before every
risky tool call (``POST /api/v1/tool-verdicts``), at the rate workers call tools; gunicorn's
workers share it through the multi-process files. The view answering a tool verdict observes
``tool_verdict_latency.labels(decision=...).observe(seconds)`` with the time it took.
"""

from core.metrics import Histogram, Where

# A verdict is a policy lookup (cached) and a few rows: milliseconds.
tool_verdict_latency = Histogram(
    "pls_tool_verdict_latency_seconds",
    "Time to answer a tool verdict, by decision (allowed, needs_approval, denied).",
    ["decision"],
    where=Where.PROCESS,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

for _decision in ("allowed", "needs_approval", "denied"):
    tool_verdict_latency.labels(decision=_decision)
