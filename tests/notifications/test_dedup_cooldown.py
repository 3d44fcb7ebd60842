"""A report whose dedup key a channel took within the cooldown is suppressed and counted."""

from datetime import timedelta

from django.utils import timezone
from werkzeug import Response

from notifications.models import Channel, OwnerReport
from notifications.services import report_enqueue
from tests.notifications.conftest import answer, drain, received_ids


def stuck(**fields) -> OwnerReport:
    (report,) = report_enqueue(
        source="stuck_claim", title="JOB-9 claim is stuck", dedup_key="stuck:JOB-9", **fields
    )
    return report


def test_duplicates_inside_the_cooldown_are_suppressed_and_counted_on_the_first(
    db, httpserver, make_channel
):
    channel = make_channel("ops")
    answer(httpserver, channel)
    first, second, third = stuck(), stuck(), stuck()
    other = report_enqueue(source="stuck_claim", title="JOB-10", dedup_key="stuck:JOB-10")[0]

    result = drain(channel)

    assert (result.sent, result.suppressed) == (2, 2)
    assert received_ids(httpserver, channel) == [first.pk, other.pk]
    first.refresh_from_db()
    assert first.suppressed_count == 2
    for duplicate in (second, third):
        duplicate.refresh_from_db()
        assert (duplicate.state, duplicate.duplicate_of_id) == ("suppressed", first.pk)
    assert Channel.objects.get().suppressed_total == 2


def test_the_same_key_after_the_cooldown_is_sent_again(db, httpserver, make_channel, settings):
    settings.PLS_NOTIFY_DEDUP_COOLDOWN = timedelta(minutes=10)
    channel = make_channel("ops")
    answer(httpserver, channel)
    first = stuck()
    drain(channel)
    OwnerReport.objects.filter(pk=first.pk).update(sent_at=timezone.now() - timedelta(minutes=11))

    later = stuck()
    drain(channel)

    later.refresh_from_db()
    assert later.state == "sent"
    assert received_ids(httpserver, channel) == [first.pk, later.pk]


def test_suppressed_duplicates_do_not_count_toward_the_run_maximum(
    db, httpserver, make_channel, settings
):
    settings.PLS_NOTIFY_MAX_COUNT = 2
    channel = make_channel("ops")
    answer(httpserver, channel)
    for _ in range(5):
        stuck()
    fresh = report_enqueue(source="worker.error", title="worker w2 errored")[0]

    result = drain(channel)

    assert (result.sent, result.suppressed) == (2, 4)
    assert received_ids(httpserver, channel)[-1] == fresh.pk


def test_a_failed_first_report_does_not_suppress_its_duplicates(db, httpserver, make_channel):
    channel = make_channel("ops")
    answers = iter([404])
    httpserver.expect_request(f"/webhook/{channel.name}").respond_with_handler(
        lambda request: Response(status=next(answers, 200))
    )
    first, second = stuck(), stuck()

    drain(channel)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == ("failed", "sent")


def test_keys_are_counted_per_channel(db, httpserver, make_channel):
    ops, team = make_channel("ops"), make_channel("team")
    answer(httpserver, ops)
    answer(httpserver, team)
    report_enqueue(source="stuck_claim", title="JOB-9 claim is stuck", dedup_key="stuck:JOB-9")

    drain(ops)
    drain(team)

    assert len(received_ids(httpserver, ops)) == 1
    assert len(received_ids(httpserver, team)) == 1
