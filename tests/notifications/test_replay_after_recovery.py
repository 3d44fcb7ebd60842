"""Once a channel recovers, every report reaches it exactly once and in the order raised."""

from django.urls import reverse
from django.utils import timezone
from werkzeug import Response

from notifications.models import OwnerReport
from tests.notifications.conftest import answer_with, drain, raise_reports, received_ids, states


class Provider:
    """A provider whose answer the test switches, recording what it accepted."""

    def __init__(self, status: int) -> None:
        self.status = status

    def __call__(self, request) -> Response:
        return Response(status=self.status)


def test_transient_outage_then_recovery_delivers_each_report_once_in_order(
    db, httpserver, make_channel
):
    channel = make_channel("ops")
    provider = Provider(503)
    answer_with(httpserver, channel, provider)
    reports = raise_reports(3)

    drain(channel)
    provider.status = 200
    channel.refresh_from_db()
    channel.retry_at = timezone.now()  # the backoff has passed
    channel.save(update_fields=["retry_at"])
    drain(channel)
    drain(channel)  # a later run has nothing left to send

    accepted = [
        body["id"]
        for (request, response) in httpserver.log
        if response.status_code == 200
        for body in [request.get_json()]
    ]
    assert accepted == [r.pk for r in reports]
    assert received_ids(httpserver, channel) == [reports[0].pk, *accepted]
    assert states(channel) == ["sent"] * 3


def test_owner_replays_failed_reports_after_fixing_the_channel_and_each_goes_once_in_order(
    db, httpserver, make_channel, client, owner
):
    channel = make_channel("ops")
    provider = Provider(404)  # webhook deleted: every report fails for good
    answer_with(httpserver, channel, provider)
    reports = raise_reports(3)
    drain(channel)
    assert states(channel) == ["failed"] * 3

    provider.status = 204  # the owner recreated the webhook
    newer = raise_reports(1)[0]
    client.force_login(owner)
    response = client.post(
        reverse("admin:notifications_ownerreport_changelist"),
        {
            "action": "replay_failed",
            "_selected_action": [r.pk for r in reversed(reports)],
        },
    )
    assert response.status_code == 302
    drain(channel)
    drain(channel)

    accepted = [
        request.get_json()["id"]
        for request, response in httpserver.log
        if response.status_code == 204
    ]
    assert accepted == [*(r.pk for r in reports), newer.pk]
    assert states(channel) == ["sent"] * 4
    assert OwnerReport.objects.get(pk=reports[0].pk).attempts == 2
