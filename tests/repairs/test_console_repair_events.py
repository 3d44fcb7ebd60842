"""Repair events in the console show the verdict they got and what it led to, and stay as
they were reported: nobody edits or deletes one, not even a superuser."""

import pytest
from django.urls import reverse

from repairs.models import RepairEvent
from tests.console import EVENTS, console_rights
from tests.factories import UserFactory, event_body

pytestmark = pytest.mark.django_db


def test_the_list_shows_the_verdict_and_links_the_request_and_the_proposal(
    client, viewer, worker_client
):
    worker_client.post(EVENTS, event_body(action="retry"), format="json")
    second = worker_client.post(EVENTS, event_body(action="retry"), format="json").json()
    client.force_login(viewer)

    page = client.get(reverse("admin:repairs_repairevent_changelist")).content.decode()

    assert "needs_approval" in page
    request_url = reverse(
        "admin:repairs_selfhealrequest_change", args=[second["self_heal_request"]]
    )
    proposal_url = reverse("admin:policies_proposal_change", args=[second["proposal"]])
    assert f'href="{request_url}"' in page
    assert f'href="{proposal_url}"' in page


def test_nobody_edits_or_deletes_an_event_not_even_a_superuser(client, worker_client):
    worker_client.post(EVENTS, event_body(), format="json")
    event = RepairEvent.objects.get()
    superuser = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(superuser)

    delete_page = client.get(reverse("admin:repairs_repairevent_delete", args=[event.pk]))
    edit = client.post(
        reverse("admin:repairs_repairevent_change", args=[event.pk]), {"error_class": "other"}
    )

    assert delete_page.status_code == 403
    assert edit.status_code == 403
    assert RepairEvent.objects.get(pk=event.pk).error_class == "context_fetch_failed"
    assert console_rights(superuser, event) == {"add": False, "change": False, "delete": False}
