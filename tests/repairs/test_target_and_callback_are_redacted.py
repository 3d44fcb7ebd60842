"""A secret a worker pastes into an event's ``target`` or into its callback URL's
``user:password@`` is redacted before it is stored, answered or shown (issue 12, finding 5's
fields that had no redaction at all)."""

import pytest

from notifications.models import OwnerReport
from repairs.models import RepairEvent, SelfHealRequest
from tests.factories import event_body

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/worker-repair-events"
TOKEN = "ghp_" + "a1B2c3D4e5" * 4


def test_a_token_in_the_target_is_never_stored_or_shown(
    worker_client, reviewer, session_client, client
):
    response = worker_client.post(
        EVENTS,
        event_body(job="", action="restart_session", target=f"session-{TOKEN}"),
        format="json",
    )

    assert response.status_code == 201, response.content
    assert TOKEN not in response.content.decode()
    event = RepairEvent.objects.get(pk=response.json()["id"])
    request = SelfHealRequest.objects.get(event=event)
    assert TOKEN not in event.target
    assert "[REDACTED:github_token]" in event.target
    assert TOKEN not in request.target and TOKEN not in "".join(request.resources)
    assert TOKEN not in OwnerReport.objects.get(source="self_heal.pending").title
    assert TOKEN not in session_client(reviewer).get(EVENTS).content.decode()
    client.force_login(reviewer)
    page = client.get(f"/admin/repairs/selfhealrequest/{request.pk}/change/")
    assert TOKEN not in page.content.decode()


def test_a_password_in_the_callback_url_is_never_stored_or_shown(
    worker_client, reviewer, session_client
):
    response = worker_client.post(
        EVENTS,
        event_body(action="release", callback_url="https://hook:hunter2-s3cret@hooks.example/cb"),
        format="json",
    )

    request = SelfHealRequest.objects.get(pk=response.json()["self_heal_request"])
    assert "hunter2-s3cret" not in request.callback_url
    assert request.callback_url.startswith("https://hook:")
    assert request.callback_url.endswith("@hooks.example/cb")
    shown = session_client(reviewer).get(f"/api/v1/self-heal-requests/{request.pk}")
    assert "hunter2-s3cret" not in shown.content.decode()


def test_a_target_stays_within_its_column_once_redacted(worker_client):
    # Short secrets become longer markers; the stored target is cut to the column's size.
    target = ("x" * 185) + " password=ab"
    response = worker_client.post(
        EVENTS, event_body(job="", action="restart_session", target=target), format="json"
    )

    assert response.status_code == 201, response.content
    assert len(RepairEvent.objects.get(pk=response.json()["id"]).target) <= 200


def test_a_callback_url_that_carried_a_password_is_called_without_one(
    worker_client, reviewer, session_client, httpserver, django_capture_on_commit_callbacks
):
    from repairs.tasks import self_heal_callback_send

    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("ok")
    url = httpserver.url_for("/hook").replace("http://", "http://hook:hunter2-s3cret@")
    body = worker_client.post(
        EVENTS, event_body(action="release", callback_url=url), format="json"
    ).json()
    with django_capture_on_commit_callbacks(execute=False):
        approved = session_client(reviewer).post(
            f"/api/v1/self-heal-requests/{body['self_heal_request']}/approve", {}, format="json"
        )
    assert approved.status_code == 200

    self_heal_callback_send.apply(args=[body["self_heal_request"]]).get()

    httpserver.check_assertions()
    (sent, _response), *_ = httpserver.log
    assert "Authorization" not in sent.headers
    assert SelfHealRequest.objects.get(pk=body["self_heal_request"]).callback_delivered_at


def test_a_denied_verdict_names_the_target_without_its_secret(worker_client):
    response = worker_client.post(
        EVENTS,
        event_body(
            job="", action="restart_session", target="postgres://app:hunter2pw@orders-db/app"
        ),
        format="json",
    )

    assert response.json()["verdict"]["decision"] == "denied"
    assert "hunter2pw" not in response.content.decode()
    assert "orders-db" in response.json()["verdict"]["reason"]
