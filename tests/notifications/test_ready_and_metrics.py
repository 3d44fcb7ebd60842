"""/ready shows how long reports have waited; /metrics the outbox depth and send results."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import OwnerReport
from notifications.services import report_enqueue
from tests.notifications.conftest import answer, drain, raise_reports


def test_ready_reports_the_oldest_pending_reports_age(db, client, make_channel):
    assert client.get("/ready").json()["checks"]["outbox_oldest_pending_seconds"] is None

    report_enqueue(source="x", title="raised before any channel existed")
    make_channel("ops")
    (report,) = raise_reports(1)
    OwnerReport.objects.filter(pk=report.pk).update(
        created_at=timezone.now() - timedelta(minutes=7)
    )

    checks = client.get("/ready").json()["checks"]
    assert 419 < checks["outbox_oldest_pending_seconds"] < 430
    assert checks["outbox_unrouted"] == 1


def test_ready_stays_ready_however_old_the_outbox(db, client, make_channel):
    make_channel("ops")
    (report,) = raise_reports(1)
    OwnerReport.objects.filter(pk=report.pk).update(created_at=timezone.now() - timedelta(days=3))

    response = client.get("/ready")

    assert response.status_code == 200  # informational: a stuck channel is not an unready web


def sample(text: str, line_start: str) -> float:
    (line,) = [line for line in text.splitlines() if line.startswith(line_start)]
    return float(line.rsplit(" ", 1)[1])


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.content.decode()


def outbox_activity(httpserver, make_channel):
    report_enqueue(source="x", title="raised before any channel existed")
    ops, broken = make_channel("ops"), make_channel("broken")
    answer(httpserver, ops, 200)
    answer(httpserver, broken, 500)
    for _ in range(3):
        report_enqueue(source="stuck_claim", title="JOB-1 stuck", dedup_key="stuck:JOB-1")
    drain(ops)
    drain(broken)


@pytest.fixture(params=["single-process", "multi-process"])
def metrics_mode(request, monkeypatch, tmp_path):
    """/metrics as gunicorn serves it with one worker, and with PROMETHEUS_MULTIPROC_DIR."""
    if request.param == "multi-process":
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    return request.param


def test_metrics_show_depth_per_channel_sends_by_result_and_suppressed(
    db, client, httpserver, make_channel, metrics_mode
):
    outbox_activity(httpserver, make_channel)

    text = scrape(client)

    assert sample(text, 'pls_outbox_reports{channel="broken",state="pending"}') == 3
    assert sample(text, 'pls_outbox_reports{channel="ops",state="pending"}') == 0
    assert sample(text, 'pls_outbox_reports{channel="",state="unrouted"}') == 1
    assert sample(text, 'pls_notification_sends_total{channel="ops",result="sent"}') == 1
    assert (
        sample(text, 'pls_notification_sends_total{channel="broken",result="transient_error"}') == 1
    )
    assert sample(text, 'pls_notification_suppressed_duplicates_total{channel="ops"}') == 2
    assert sample(text, "pls_outbox_oldest_pending_seconds ") >= 0


def test_sends_totals_do_not_go_backwards_when_old_reports_are_purged(
    db, client, httpserver, make_channel
):
    from notifications.services import report_purge_archived

    ops = make_channel("ops")
    answer(httpserver, ops)
    raise_reports(2)
    drain(ops)

    report_purge_archived(older_than_days=0)

    assert not OwnerReport.objects.exists()
    assert sample(scrape(client), 'pls_notification_sends_total{channel="ops",result="sent"}') == 2


def test_delivery_latency_is_observed_per_sent_report_for_every_process_to_read(
    db, client, httpserver, make_channel, django_capture_on_commit_callbacks
):
    ops = make_channel("ops")
    answer(httpserver, ops)
    first, _ = raise_reports(2)
    OwnerReport.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(minutes=2))

    with django_capture_on_commit_callbacks(execute=True):
        drain(ops)

    text = scrape(client)
    latency = "pls_outbox_delivery_latency_seconds"
    assert sample(text, f'{latency}_count{{channel="ops"}}') == 2
    assert sample(text, f'{latency}_bucket{{channel="ops",le="60.0"}}') == 1  # the new one
    assert sample(text, f'{latency}_bucket{{channel="ops",le="300.0"}}') == 2
    assert 120 < sample(text, f'{latency}_sum{{channel="ops"}}') < 130
