"""A drain run sends at most max_count reports per channel."""

from django.core.management import call_command

from tests.notifications.conftest import answer, drain, raise_reports, received_ids, states


def test_a_run_sends_at_most_five_by_default_and_the_next_run_the_rest(
    db, httpserver, make_channel
):
    channel = make_channel("ops")
    answer(httpserver, channel)
    reports = raise_reports(7)

    first = drain(channel)

    assert first.sent == 5
    assert states(channel) == ["sent"] * 5 + ["pending"] * 2

    second = drain(channel)

    assert second.sent == 2
    assert received_ids(httpserver, channel) == [r.pk for r in reports]


def test_the_maximum_follows_the_setting(db, httpserver, make_channel, settings):
    settings.PLS_NOTIFY_MAX_COUNT = 2
    channel = make_channel("ops")
    answer(httpserver, channel)
    raise_reports(3)

    assert drain(channel).sent == 2


def test_the_command_takes_the_maximum_per_channel(db, httpserver, make_channel):
    ops, team = make_channel("ops"), make_channel("team")
    answer(httpserver, ops)
    answer(httpserver, team)
    raise_reports(4)

    call_command("drain_reports", max_count=3)

    assert states(ops) == ["sent"] * 3 + ["pending"]
    assert states(team) == ["sent"] * 3 + ["pending"]
