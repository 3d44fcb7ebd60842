"""Drains running at once never send a report twice and never overtake each other."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from pytest_httpserver import HTTPServer
from werkzeug import Response

from notifications import drain as drain_module
from notifications.drain import outbox_drain_channel
from notifications.models import Channel, OwnerReport
from tests.notifications.conftest import answer, drain, raise_reports, received_ids


@pytest.fixture
def threaded_provider():
    """A provider answering several connections at once, as real ones do."""
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_four_concurrent_drains_send_every_report_once_in_order(make_channel, threaded_provider):
    channel = make_channel("ops", url=threaded_provider.url_for("/hook"))
    seen: list[int] = []
    lock = threading.Lock()

    def provider(request):
        with lock:
            seen.append(request.get_json()["id"])
        return Response(status=204)

    threaded_provider.expect_request("/hook").respond_with_handler(provider)
    reports = raise_reports(60)
    start = threading.Barrier(4)
    results = []
    errors: list[BaseException] = []

    def drainer():
        try:
            start.wait()
            while OwnerReport.objects.filter(channel=channel, state="pending").exists():
                results.append(
                    outbox_drain_channel(channel_id=channel.pk, max_count=3, follow_up=False)
                )
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=drainer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    assert seen == [r.pk for r in reports]  # each once, in the order raised
    assert sum(r.sent for r in results) == 60
    assert any(r.stopped == "busy" for r in results)  # the drains really did collide
    assert set(OwnerReport.objects.values_list("state", flat=True)) == {"sent"}
    assert Channel.objects.get().sent_total == 60


def test_a_drain_finding_the_channel_busy_leaves_it_alone(db, httpserver, make_channel):
    channel = make_channel("ops")
    answer(httpserver, channel)
    raise_reports(2)
    Channel.objects.filter(pk=channel.pk).update(
        lease_token="someone-else", lease_expires_at=timezone.now() + timedelta(minutes=2)
    )

    result = drain(channel)

    assert result.stopped == "busy"
    assert httpserver.log == []


def test_the_lease_of_a_drain_that_died_expires_and_another_takes_over(
    db, httpserver, make_channel
):
    channel = make_channel("ops")
    answer(httpserver, channel)
    reports = raise_reports(2)
    Channel.objects.filter(pk=channel.pk).update(
        lease_token="dead-worker", lease_expires_at=timezone.now() - timedelta(seconds=1)
    )

    result = drain(channel)

    assert result.sent == 2
    assert received_ids(httpserver, channel) == [r.pk for r in reports]
    channel.refresh_from_db()
    assert (channel.lease_token, channel.lease_expires_at) == ("", None)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_drain_whose_lease_ran_out_stops_before_sending_more(httpserver, make_channel, settings):
    # A lease shorter than one send's timeouts: the drain must renew it before every send.
    settings.PLS_NOTIFY_LEASE_SECONDS = 1
    channel = make_channel("ops")
    reports = raise_reports(3)

    def taken_over_during_the_first_send(request):
        # The lease ran out while the provider was slow, and another drain took it.
        Channel.objects.filter(pk=channel.pk).update(lease_token="another-drain")
        connection.close()  # this runs in the server's thread
        return Response(status=204)

    httpserver.expect_request(f"/webhook/{channel.name}").respond_with_handler(
        taken_over_during_the_first_send
    )

    result = drain(channel)

    assert result.stopped == "lease lost"
    assert received_ids(httpserver, channel) == [reports[0].pk]
    # Not archived by the drain that lost the lease: the new holder sends it (at least once).
    assert OwnerReport.objects.get(pk=reports[0].pk).state == "pending"
    assert Channel.objects.get().lease_token == "another-drain"


def test_a_run_that_stops_at_its_maximum_asks_for_another(
    db, httpserver, make_channel, monkeypatch
):
    requested: list[list[int]] = []
    monkeypatch.setattr(
        drain_module, "request_drain", lambda ids, **kwargs: requested.append(list(ids))
    )
    channel = make_channel("ops")
    answer(httpserver, channel)
    raise_reports(3)

    outbox_drain_channel(channel_id=channel.pk, max_count=2)

    assert requested == [[channel.pk]]


def test_a_run_that_stops_on_an_error_leaves_the_retry_to_the_backoff(
    db, httpserver, make_channel, monkeypatch, settings
):
    settings.PLS_NOTIFY_BACKOFF_BASE_SECONDS = 60
    requested: list[list[int]] = []
    monkeypatch.setattr(
        drain_module, "request_drain", lambda ids, **kwargs: requested.append(list(ids))
    )
    channel = make_channel("ops")
    answer(httpserver, channel, 503)
    raise_reports(3)

    outbox_drain_channel(channel_id=channel.pk)

    assert requested == []
