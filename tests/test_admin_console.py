import re

from django.urls import reverse
from rest_framework.test import APIClient

from repairs.models import RepairEvent, WorkerToken
from tests.factories import event_body

EVENTS = "/api/v1/worker-repair-events"


def test_console_is_branded(client, owner):
    client.force_login(owner)

    response = client.get(reverse("admin:index"))

    assert b"PLS Ops Console" in response.content


def test_owner_issues_a_token_shown_once_that_works(client, owner, worker):
    client.force_login(owner)

    response = client.post(
        reverse("admin:repairs_worker_changelist"),
        {"action": "issue_token", "_selected_action": [worker.pk]},
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    raw = re.search(rb'class="issued-token">(pls_[^<]+)<', response.content).group(1).decode()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.post(EVENTS, event_body(), format="json").status_code == 201
    assert (
        raw.encode()
        not in client.get(reverse("admin:repairs_worker_change", args=[worker.pk])).content
    )


def test_owner_revokes_a_token_and_it_stops_working(client, owner, worker, worker_client):
    client.force_login(owner)
    token = WorkerToken.objects.get(worker=worker)

    client.post(
        reverse("admin:repairs_workertoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )

    assert WorkerToken.objects.get(pk=token.pk).revoked_by == owner
    assert worker_client.get(EVENTS).status_code == 401


def test_owner_adds_a_worker_in_the_console(client, owner):
    client.force_login(owner)

    client.post(
        reverse("admin:repairs_worker_add"),
        {
            "name": "claude-7",
            "team": "beta",
            "kind": "claude_code",
            "monthly_budget_cents": 5000,
            "tokens-TOTAL_FORMS": 0,
            "tokens-INITIAL_FORMS": 0,
        },
    )

    from repairs.models import Worker

    worker = Worker.objects.get(name="claude-7")
    assert worker.user.groups.filter(name="worker").exists()


def test_viewer_cannot_issue_tokens(client, viewer, worker):
    client.force_login(viewer)

    client.post(
        reverse("admin:repairs_worker_changelist"),
        {"action": "issue_token", "_selected_action": [worker.pk]},
    )

    assert not WorkerToken.objects.filter(worker=worker).exists()


def test_events_are_read_only_in_the_console(client, owner, worker_client):
    worker_client.post(EVENTS, event_body(), format="json")
    event = RepairEvent.objects.get()
    client.force_login(owner)

    change_page = client.get(reverse("admin:repairs_repairevent_change", args=[event.pk]))
    delete = client.post(
        reverse("admin:repairs_repairevent_delete", args=[event.pk]), {"post": "yes"}
    )

    assert change_page.status_code == 200
    assert b'name="_save"' not in change_page.content
    assert delete.status_code == 403
    assert RepairEvent.objects.filter(pk=event.pk).exists()


def test_viewer_sees_events_in_the_console(client, viewer, worker_client):
    worker_client.post(EVENTS, event_body(error_class="lease_expired"), format="json")
    client.force_login(viewer)

    response = client.get(reverse("admin:repairs_repairevent_changelist"))

    assert response.status_code == 200
    assert b"lease_expired" in response.content
