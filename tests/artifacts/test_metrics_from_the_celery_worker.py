"""Counters a Celery worker increments in its own process show on the web's /metrics with
the same totals as the records: a real worker, in another process, on a real Redis, runs
artifact checks; this process (the web) then scrapes /metrics."""

import time

import pytest

from artifacts.models import ArtifactGateCheck
from repairs.models import Gate, RepairEvent
from tests.metrics import value
from tests.processes import REDIS_SERVER, RedisServer, celery_worker, log_tail, use_broker

pytestmark = [
    pytest.mark.skipif(
        not REDIS_SERVER, reason="needs the redis-server binary (apt-get install redis-server)"
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def artifacts_worker(tmp_path, monkeypatch, settings):
    """Redis of its own, this process publishing to it, and ``celery worker -Q artifacts -P
    threads`` on it and on this test's database."""
    redis = RedisServer(tmp_path)
    redis.start()
    started = []
    try:
        with use_broker(redis.url, settings, monkeypatch):
            celery_worker(
                tmp_path,
                broker_url=redis.url,
                queues="artifacts",
                pool="threads",
                name="artifacts",
                track=started,
                env={"ARTIFACT_ALLOWED_HOSTS": "127.0.0.1", "ARTIFACT_READ_TIMEOUT": "2"},
            )
            yield started[0]
    finally:
        for process in started:
            process.stop(timeout=20)
            print(log_tail(process.log))
        redis.stop()


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.content.decode()


def test_artifact_check_events_recorded_by_a_celery_worker_show_on_the_webs_metrics(
    client, job, submit, artifact_server, artifacts_worker
):
    artifact_server.expect_request("/index.html").respond_with_data("ok")
    artifact_server.expect_request("/app.zip").respond_with_data("zip")
    artifact_server.expect_request("/gone.zip").respond_with_data("gone", status=404)
    before = scrape(client)

    ids = [
        submit(job, artifact_server.url_for("/index.html"), {"url": artifact_server.url_for(p)})[
            "id"
        ]
        for p in ("/app.zip", "/gone.zip", "/app.zip")
    ]
    deadline = time.monotonic() + 60
    while (
        ArtifactGateCheck.objects.filter(pk__in=ids, status__in=ArtifactGateCheck.FINAL).count() < 3
    ):
        assert time.monotonic() < deadline, log_tail(artifacts_worker.log)
        time.sleep(0.2)
    time.sleep(0.5)  # the totals are written just after each check's transaction commits
    after = scrape(client)

    recorded = RepairEvent.objects.filter(gate=Gate.ARTIFACT_GUARD).count()
    assert recorded == 3
    counted = value(after, "pls_repair_events_total", gate="artifact_guard") - value(
        before, "pls_repair_events_total", gate="artifact_guard"
    )
    assert counted == recorded
    duration = "pls_artifact_check_duration_seconds_count"
    assert value(after, duration, status="passed") - value(before, duration, status="passed") == 2
    assert value(after, duration, status="failed") - value(before, duration, status="failed") == 1
