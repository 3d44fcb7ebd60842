"""The request id travels with the work it caused: a request (X-Request-ID) raises a report,
the outbox row keeps the id, and a real Celery worker in another process (JSON logs, as in
the image) logs sending it with that id and its own task id."""

import json

import pytest

from notifications.models import OwnerReport
from tests.factories import event_body
from tests.notifications.conftest import answer
from tests.processes import (
    REDIS_SERVER,
    RedisServer,
    celery_worker,
    log_tail,
    use_broker,
    wait_until,
)

pytestmark = [
    pytest.mark.skipif(
        not REDIS_SERVER, reason="needs the redis-server binary (apt-get install redis-server)"
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def json_logging_worker(tmp_path, monkeypatch, settings):
    redis = RedisServer(tmp_path)
    redis.start()
    started = []
    try:
        with use_broker(redis.url, settings, monkeypatch):
            celery_worker(tmp_path, broker_url=redis.url, track=started, env={"LOG_FORMAT": "json"})
            yield started[0]
    finally:
        for process in started:
            process.stop(timeout=20)
        redis.stop()


def json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_a_requests_id_reaches_the_celery_task_that_sends_its_report(
    worker_client, httpserver, make_channel, json_logging_worker
):
    ops = make_channel("ops")
    answer(httpserver, ops)

    response = worker_client.post(
        "/api/v1/worker-repair-events",
        event_body(action="release"),
        format="json",
        HTTP_X_REQUEST_ID="e2e-7f3a",
    )

    assert response.status_code == 201
    assert response["X-Request-ID"] == "e2e-7f3a"
    report = OwnerReport.objects.get(source="self_heal.pending")
    assert report.request_id == "e2e-7f3a"
    wait_until(
        lambda: OwnerReport.objects.get(pk=report.pk).state == "sent",
        30,
        "the worker to send the report",
        log=json_logging_worker.log,
    )
    wait_until(
        lambda: json_logging_worker.logged(f"report {report.pk} sent"),
        10,
        "the worker to log the send",
        log=json_logging_worker.log,
    )
    (sent,) = [
        line
        for line in json_lines(json_logging_worker.log.read_text())
        if line.get("event") == f"channel ops: report {report.pk} sent"
    ]
    assert sent["request_id"] == "e2e-7f3a", log_tail(json_logging_worker.log)
    assert sent["task_id"]
    assert sent["logger"] == "notifications.drain"
