"""The artifacts app's Prometheus metrics (``core.metrics``).

Check duration: ``DATABASE``. Checks run only in Celery's artifacts workers (other
containers than the web), a few a minute, so a row update per check costs nothing.
"""

from artifacts.models import ArtifactGateCheck
from core.metrics import Histogram, Where

# A check fetches a page and its uploads, each with its own timeouts and a 60 s deadline.
check_duration = Histogram(
    "pls_artifact_check_duration_seconds",
    "Time an artifact check ran, from its start to its verdict, by final status.",
    ["status"],
    where=Where.DATABASE,
    buckets=(0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)

for _status in ArtifactGateCheck.FINAL:
    check_duration.labels(status=_status)
