"""Drill: Redis hangs (SIGSTOP) instead of going away.

A stopped Redis refuses connections at once; a hung one (a long command, a paused VM, a
network dropping packets) accepts them and never answers, and a client without timeouts
waits forever. gunicorn (production settings, the drill's own Redis as cache and broker)
must still answer every report 201 within seconds: the rate limiter, the drain marks and
the broker publish each give up after their timeout (PLS_CACHE_TIMEOUT_SECONDS,
PLS_BROKER_PUBLISH_TIMEOUT_SECONDS) and the outbox keeps the reports.
"""

import time

import pytest
import requests

from notifications.models import OwnerReport
from repairs.models import RepairEvent
from tests.factories import ChannelFactory, WorkerFactory, event_body, issue_token
from tests.faults.conftest import drill

pytestmark = [
    *drill(),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# The first request after Redis hangs pays each give-up once (0.5 s each: the limiter, the
# drain mark and its removal, two publish attempts); the client waits up to 10 s.
SLOWEST_ANSWER_SECONDS = 4.0


def test_reports_are_answered_promptly_while_redis_hangs(redis_server, spawn, sink):
    ChannelFactory(url=sink.url)
    token = issue_token(WorkerFactory())
    _, base = spawn.web(env={"REDIS_URL": redis_server.url})

    def report(n: int) -> tuple[int, int | None, float]:
        started = time.monotonic()
        response = requests.post(
            f"{base}/api/v1/worker-repair-events",
            json=event_body(job=f"HANG-{n}", action="release"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=(2, 10),
        )
        event = response.json().get("id") if response.status_code == 201 else None
        return response.status_code, event, time.monotonic() - started

    assert report(0)[0] == 201
    redis_server.freeze()
    try:
        answers = [report(n) for n in range(1, 5)]
    finally:
        redis_server.thaw()

    print("seconds per request while Redis hung:", [round(took, 2) for _, _, took in answers])
    assert [status for status, _, _ in answers] == [201] * 4
    assert max(took for _, _, took in answers) < SLOWEST_ANSWER_SECONDS
    events = [event for _, event, _ in answers]
    assert RepairEvent.objects.filter(pk__in=events).count() == 4
    assert OwnerReport.objects.filter(state="pending").count() >= 4  # kept for later
