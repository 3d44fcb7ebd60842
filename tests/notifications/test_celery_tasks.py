"""The Celery tasks take ids and run the drain; the sweep finds every channel with work."""

from datetime import timedelta

from django.utils import timezone

from notifications import drain as drain_module
from notifications.models import Channel, OwnerReport
from notifications.services import report_enqueue
from notifications.tasks import drain_channel, drain_sweep
from tests.notifications.conftest import answer, raise_reports, states


def test_the_drain_task_sends_a_channels_reports(db, httpserver, make_channel):
    channel = make_channel("ops")
    answer(httpserver, channel)
    raise_reports(2)

    drain_channel(channel.pk)
    drain_channel(channel.pk)  # safe to run twice

    assert states(channel) == ["sent", "sent"]
    assert len(httpserver.log) == 2


def test_the_drain_task_for_a_deleted_channel_does_nothing(db):
    drain_channel(999_999)


def test_the_sweep_routes_waiting_reports_and_asks_for_ready_channels_only(
    db, make_channel, monkeypatch
):
    requested: list[list[int]] = []
    monkeypatch.setattr(
        drain_module, "request_drain", lambda ids, **kwargs: requested.append(sorted(ids))
    )
    (waiting,) = report_enqueue(source="stuck_claim", title="raised before any channel")
    ready = make_channel("ready")
    backing_off = make_channel("backing-off", retry_at=timezone.now() + timedelta(minutes=1))
    make_channel("idle", team="nobody")
    make_channel("disabled", enabled=False)
    raise_reports(1, team="x")
    Channel.objects.filter(pk=backing_off.pk).update(retry_at=timezone.now() + timedelta(minutes=1))

    drain_sweep()

    waiting.refresh_from_db()
    assert waiting.state == "pending"
    assert requested == [[ready.pk]]
    assert OwnerReport.objects.filter(state="unrouted").count() == 0
