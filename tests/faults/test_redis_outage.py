"""Drill: Redis (broker and cache) stops while workers report events.

Live HTTP requests to gunicorn (production settings, the drill's own Redis as broker and
cache, the rate limit on) from several workers at once; every report needs approval, so
each commits an owner report for a webhook channel. With Redis stopped every request must
still be answered 201 promptly, every event and report must be in the database, and once
Redis is back the Celery worker and beat (never restarted) must deliver every report to
the webhook exactly once, oldest first.
"""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from notifications.models import OwnerReport
from repairs.models import RepairEvent
from tests.factories import ChannelFactory, WorkerFactory, event_body, issue_token
from tests.faults.conftest import drill
from tests.processes import wait_until

pytestmark = [
    *drill(),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WORKERS = 3
EVENTS_EACH = 5
# A request that waits on a dead Redis would take the broker publish timeout (0.5 s) or
# the cache timeout (1 s); anything near the client's timeout is a hang.
SLOWEST_ANSWER_SECONDS = 3.0


def report_event(base: str, token: str, job: str) -> tuple[int, int | None, float]:
    """POSTs an event asking to release ``job`` (L2: needs approval, so the owner is told);
    returns status, event id and seconds taken."""
    started = time.monotonic()
    response = requests.post(
        f"{base}/api/v1/worker-repair-events",
        json=event_body(job=job, action="release", message=f"lease of {job} lost"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=(2, 10),
    )
    took = time.monotonic() - started
    event_id = response.json().get("id") if response.status_code == 201 else None
    return response.status_code, event_id, took


def channel_reports(channel) -> list[tuple[int, str]]:
    return list(
        OwnerReport.objects.filter(channel=channel).order_by("pk").values_list("pk", "state")
    )


def test_reports_made_while_redis_is_down_are_accepted_and_delivered_in_order_after(
    redis_server, spawn, sink
):
    channel = ChannelFactory(url=sink.url)
    tokens = [issue_token(WorkerFactory()) for _ in range(WORKERS)]
    spawn.celery(
        broker_url=redis_server.url,
        beat=True,
        env={"PLS_NOTIFY_SWEEP_SECONDS": "1", "PLS_NOTIFY_BACKOFF_BASE_SECONDS": "1"},
    )
    web, base = spawn.web(env={"REDIS_URL": redis_server.url}, workers=2)

    # Redis up: the path works end to end.
    warm_up = [report_event(base, token, f"WARM-{n}") for n, token in enumerate(tokens)]
    assert [status for status, _, _ in warm_up] == [201] * WORKERS
    wait_until(lambda: len(sink.accepted) >= WORKERS, 30, "the first reports to be delivered")

    redis_server.stop()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        answers = list(
            pool.map(
                lambda args: report_event(base, *args),
                [
                    (token, f"OUT-{w}-{n}")
                    for n in range(EVENTS_EACH)
                    for w, token in enumerate(tokens)
                ],
            )
        )
    delivered_during_outage = len(sink.accepted)

    assert [status for status, _, _ in answers] == [201] * (WORKERS * EVENTS_EACH)
    assert max(took for _, _, took in answers) < SLOWEST_ANSWER_SECONDS
    accepted_ids = {event_id for _, event_id, _ in answers}
    assert RepairEvent.objects.filter(pk__in=accepted_ids).count() == WORKERS * EVENTS_EACH
    held = [pk for pk, state in channel_reports(channel) if state == "pending"]
    assert len(held) >= WORKERS * EVENTS_EACH  # one self-heal request pending per event
    ready = requests.get(f"{base}/ready", timeout=(2, 10))
    assert ready.status_code == 200  # still taking reports: the pod stays in the Service
    assert ready.json()["checks"]["broker"] != "ok"  # and says what is down
    assert ready.json()["checks"]["database"] == "ok"

    # Long enough for beat's sweep (every second) and the worker's first reconnection
    # attempt (after 2 s) to fail too.
    time.sleep(3)
    assert len(sink.accepted) == delivered_during_outage

    redis_server.start()  # empty: the tasks that were never published are not in it either
    back_at = time.monotonic()
    wait_until(
        lambda: all(state == "sent" for _, state in channel_reports(channel)),
        60,
        "every report to be sent after Redis is back",
    )
    print(
        f"{len(answers)} events while Redis was down, slowest answer "
        f"{max(took for _, _, took in answers):.2f} s; {len(held)} reports held, all delivered "
        f"{time.monotonic() - back_at:.1f} s after Redis was back"
    )

    every_report = [pk for pk, _ in channel_reports(channel)]
    assert sink.accepted == every_report  # each exactly once, oldest first
    assert sink.overtakes(every_report) == []
    assert web.running()
