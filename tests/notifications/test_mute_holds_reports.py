"""A muted channel holds its reports, in order, until the mute ends."""

from datetime import timedelta

from django.utils import timezone

from notifications import drain as drain_module
from tests.notifications.conftest import answer, drain, raise_reports, received_ids, states


def test_a_muted_channel_holds_its_reports_and_sends_them_in_order_when_the_mute_ends(
    db, httpserver, make_channel
):
    channel = make_channel("ops", muted_until=timezone.now() + timedelta(hours=1))
    answer(httpserver, channel)
    reports = raise_reports(3)

    result = drain(channel)

    assert result.sent == 0
    assert result.stopped.startswith("muted until")
    assert states(channel) == ["pending"] * 3
    assert httpserver.log == []

    channel.muted_until = timezone.now() - timedelta(seconds=1)
    channel.save(update_fields=["muted_until"])
    drain(channel)

    assert received_ids(httpserver, channel) == [r.pk for r in reports]


def test_the_beat_sweep_skips_a_muted_channel_and_takes_it_up_after(
    db, httpserver, make_channel, monkeypatch
):
    requested: list[list[int]] = []
    monkeypatch.setattr(
        drain_module, "request_drain", lambda ids, **kwargs: requested.append(list(ids))
    )
    muted = make_channel("muted", muted_until=timezone.now() + timedelta(minutes=5))
    live = make_channel("live")
    raise_reports(1)

    assert drain_module.outbox_sweep() == [live.pk]

    muted.muted_until = timezone.now()
    muted.save(update_fields=["muted_until"])
    assert sorted(drain_module.outbox_sweep()) == sorted([muted.pk, live.pk])
    assert requested[0] == [live.pk]
