"""Every report links to the record it is about, and every digest to its page, under
PLS_PUBLIC_URL; without it, the console path alone."""

import pytest

from notifications.models import OwnerReport
from notifications.services import digest_enqueue
from repairs.models import SelfHealRequest
from tests.factories import event_body
from tests.notifications.conftest import answer, drain, received

EVENTS = "/api/v1/worker-repair-events"
PUBLIC = "https://console.example.com/pls"

pytestmark = pytest.mark.django_db


def test_a_pending_request_report_links_to_the_request_under_the_public_url(
    settings, worker_client, httpserver, make_channel
):
    settings.PLS_PUBLIC_URL = PUBLIC
    channel = make_channel("hook")
    answer(httpserver, channel)
    worker_client.post(EVENTS, event_body(action="release"), format="json")
    request = SelfHealRequest.objects.get()

    drain(channel)

    (body,) = received(httpserver, channel)
    link = f"{PUBLIC}/admin/repairs/selfhealrequest/{request.pk}/change/"
    assert body["link"] == link
    assert f"Open: {link}" in body["text"]


def test_without_a_public_url_the_report_shows_the_console_path(
    settings, worker_client, httpserver, make_channel
):
    settings.PLS_PUBLIC_URL = ""
    channel = make_channel("tg", kind="telegram")
    answer(httpserver, channel)
    worker_client.post(EVENTS, event_body(action="release"), format="json")
    request = SelfHealRequest.objects.get()

    drain(channel)

    (body,) = received(httpserver, channel)
    assert f"In the console: /admin/repairs/selfhealrequest/{request.pk}/change/" in body["text"]


def test_each_kind_of_report_names_its_record(worker_client):
    worker_client.post(EVENTS, event_body(action="release"), format="json")
    for _ in range(2):  # the same error twice raises a repair proposal
        worker_client.post(EVENTS, event_body(message="same failure"), format="json")

    reports = OwnerReport.objects.order_by("pk")

    assert [r.link for r in reports.filter(source="self_heal.pending")] == [
        f"/admin/repairs/selfhealrequest/{pk}/change/"
        for pk in SelfHealRequest.objects.order_by("pk").values_list("pk", flat=True)
    ]
    (proposal,) = reports.filter(source="proposal.created")
    assert proposal.link == f"/admin/policies/proposal/{proposal.decision_id}/change/"


@pytest.mark.parametrize(
    ("name", "page"),
    [("daily_scorecard", "/admin/"), ("weekly_learning", "/admin/learning/learningmemoryupdate/")],
)
def test_every_digest_links_to_its_page(settings, name, page):
    settings.PLS_PUBLIC_URL = PUBLIC

    (report,) = digest_enqueue(name=name)

    assert report.link == page
