"""/metrics sums each metric over the places its samples live (core.metrics): this process,
the database rows Celery processes add to, and the records counted at scrape time."""

import subprocess
from datetime import timedelta
from shutil import which

import pytest
from django.utils import timezone

import core.metrics
from config.celery import app
from core.models import MetricTotal
from repairs.models import SelfHealRequest
from repairs.services import self_heal_callback_deliver, self_heal_requests_expire
from tests.factories import event_body, held_job
from tests.metrics import samples, value
from tests.processes import REDIS_SERVER, RedisServer

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/worker-repair-events"
PROMTOOL = which("promtool")


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.content.decode()


def escalate(worker_client, **body) -> int:
    response = worker_client.post(EVENTS, event_body(action="release", **body), format="json")
    return response.json()["self_heal_request"]


def decide(session_client, reviewer, request_id: int, verb: str) -> None:
    response = session_client(reviewer).post(
        f"/api/v1/self-heal-requests/{request_id}/{verb}", {"note": "seen"}, format="json"
    )
    assert response.status_code == 200, response.content


def test_a_celery_processs_share_is_added_to_the_web_processs_own(
    client, worker, monkeypatch, django_capture_on_commit_callbacks
):
    from repairs.services.stuck_claims import job_stuck_claims_detect

    before = value(scrape(client), "pls_repair_events_total", gate="stuck_claim")
    monkeypatch.setattr(core.metrics, "_in_database", False)
    core.metrics.count_in_database()  # as config/celery.py does in `celery worker`
    held_job(worker)
    with django_capture_on_commit_callbacks(execute=True):
        assert job_stuck_claims_detect(now=timezone.now() + timedelta(days=1)) == 1
    monkeypatch.setattr(core.metrics, "_in_database", False)

    stored = MetricTotal.objects.get(
        sample="pls_repair_events_total", labels='{"gate":"stuck_claim"}'
    )
    assert stored.value == 1
    assert value(scrape(client), "pls_repair_events_total", gate="stuck_claim") == before + 1


def test_callbacks_are_counted_in_the_database_whichever_process_sends_them(
    client, worker_client, reviewer, session_client, httpserver, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hook").respond_with_data("ok")
    request_id = escalate(worker_client, callback_url=httpserver.url_for("/hook"))
    decide(session_client, reviewer, request_id, "approve")

    with django_capture_on_commit_callbacks(execute=True):
        assert self_heal_callback_deliver(request_id=request_id) is True

    text = scrape(client)
    assert value(text, "pls_self_heal_callbacks_total", result="delivered") == 1
    assert value(text, "pls_self_heal_callbacks_total", result="failed") == 0


def test_settled_self_heal_requests_are_counted_from_their_records(
    client, worker_client, reviewer, session_client
):
    approved, rejected, expiring = (escalate(worker_client, job=f"JOB-{n}") for n in range(3))
    decide(session_client, reviewer, approved, "approve")
    decide(session_client, reviewer, rejected, "reject")
    before = scrape(client)
    SelfHealRequest.objects.filter(pk=expiring).update(expires_at=timezone.now())
    assert self_heal_requests_expire(now=timezone.now() + timedelta(seconds=1)) == 1

    text = scrape(client)

    for status in ("approved", "rejected", "expired"):
        assert value(text, "pls_self_heal_decisions_total", status=status) == 1, status
    expired = ("pls_self_heal_decisions_total", (("status", "expired"),))
    assert samples(before)[expired] == 0  # shown at zero before the first expiry


def test_a_persons_decision_is_timed(client, worker_client, reviewer, session_client):
    count = "pls_self_heal_approval_latency_seconds_count"
    before = value(scrape(client), count, status="rejected")

    decide(session_client, reviewer, escalate(worker_client), "reject")

    text = scrape(client)
    assert value(text, count, status="rejected") == before + 1
    assert (
        value(text, "pls_self_heal_approval_latency_seconds_bucket", status="rejected", le="+Inf")
        == before + 1
    )


def test_queue_depth_counts_the_tasks_waiting_on_a_filesystem_broker(client, tmp_path, monkeypatch):
    from artifacts.tasks import artifact_check_run

    folder = str(tmp_path / "queue")
    (tmp_path / "queue").mkdir()
    monkeypatch.setattr(app.conf, "broker_url", "filesystem://")
    monkeypatch.setitem(
        app.conf,
        "broker_transport_options",
        {"data_folder_in": folder, "data_folder_out": folder, "store_processed": False},
    )
    with app.connection_for_write() as connection:
        for check_id in (1, 2):
            artifact_check_run.apply_async(args=[check_id], connection=connection)

    text = scrape(client)

    assert value(text, "pls_celery_queue_messages", queue="artifacts") == 2
    assert value(text, "pls_celery_queue_messages", queue="celery") == 0
    assert "pls_broker_up 1.0" in text


@pytest.mark.skipif(not REDIS_SERVER, reason="needs the redis-server binary")
def test_queue_depth_reads_redis_and_a_broker_that_is_down_leaves_its_gauge_out_and_is_down(
    client, tmp_path, monkeypatch
):
    from core.tasks import scheduler_tick

    redis = RedisServer(tmp_path)
    redis.start()
    try:
        monkeypatch.setattr(app.conf, "broker_url", redis.url)
        monkeypatch.setitem(app.conf, "broker_transport_options", {})
        with app.connection_for_write() as connection:
            for priority in (0, 5, 9):  # one Redis list per priority step: all are counted
                scheduler_tick.apply_async(priority=priority, connection=connection)
        text = scrape(client)
        assert value(text, "pls_celery_queue_messages", queue="celery") == 3
        assert "pls_broker_up 1.0" in text
    finally:
        redis.stop()

    text = scrape(client)

    assert "pls_celery_queue_messages" not in text
    assert "pls_broker_up 0.0" in text  # said, where /ready no longer fails on it
    assert "pls_repair_events_total" in text


@pytest.mark.skipif(not PROMTOOL, reason="needs promtool (apt-get install prometheus)")
def test_the_metrics_page_passes_promtool(client, worker_client, reviewer, session_client):
    decide(session_client, reviewer, escalate(worker_client), "approve")

    checked = subprocess.run(
        [PROMTOOL, "check", "metrics"],
        input=scrape(client),
        capture_output=True,
        text=True,
        check=False,
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_celery_worker_holds_its_shares_and_writes_them_once_after_each_task(
    client, worker, monkeypatch, django_capture_on_commit_callbacks
):
    from repairs.services.stuck_claims import job_stuck_claims_detect

    monkeypatch.setattr(core.metrics, "_in_database", False)
    monkeypatch.setattr(core.metrics, "_held", None)
    core.metrics.count_in_database()  # as config/celery.py does in `celery worker`
    core.metrics.hold_until_flushed()
    for _ in range(2):
        held_job(worker)
        with django_capture_on_commit_callbacks(execute=True):
            assert job_stuck_claims_detect(now=timezone.now() + timedelta(days=1)) == 1
    stuck = {"sample": "pls_repair_events_total", "labels": '{"gate":"stuck_claim"}'}

    assert not MetricTotal.objects.filter(**stuck).exists()  # held, not written yet
    core.metrics.flush()  # what the end of a task does

    assert MetricTotal.objects.get(**stuck).value == 2
    core.metrics.flush()  # nothing left to write twice
    assert MetricTotal.objects.get(**stuck).value == 2
