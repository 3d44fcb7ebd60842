"""The audit page in the console and ``GET /api/v1/audit-trail``: the owner and the viewer
read who changed what, filtered by person, object type, channel and date; others do not."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.urls import reverse
from django.utils import timezone

from core.audit import API, CONSOLE, audit_record, said
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PAGE = "admin:admin_logentry_changelist"
API_LIST = "/api/v1/audit-trail"


@pytest.fixture
def trail(owner, reviewer, worker):
    """Three entries: the owner paused a worker in the console, the reviewer did something
    through the API, and a month-old one."""
    paused = audit_record(
        user=owner, obj=worker, action_flag=CHANGE, message=said("Paused: keys"), via=CONSOLE
    )[0]
    approved = audit_record(
        user=reviewer, obj=worker.user, action_flag=CHANGE, message=said("Approved"), via=API
    )[0]
    old = audit_record(user=owner, obj=worker, action_flag=CHANGE, message=said("Old"), via=API)[0]
    LogEntry.objects.filter(pk=old.pk).update(action_time=timezone.now() - timedelta(days=30))
    return {"paused": paused, "approved": approved, "old": old}


@pytest.mark.parametrize(("role", "status"), [("owner", 200), ("viewer", 200), ("reviewer", 403)])
def test_the_owner_and_the_viewer_read_the_audit_page(role, status, request, client, trail):
    client.force_login(request.getfixturevalue(role))

    assert client.get(reverse(PAGE)).status_code == status


def test_the_page_filters_by_person_object_type_channel_and_date(client, viewer, owner, trail):
    client.force_login(viewer)

    def shown(**query) -> set[int]:
        response = client.get(reverse(PAGE), query)
        assert response.status_code == 200
        return {entry.pk for entry in response.context["cl"].result_list}

    ids = {name: entry.pk for name, entry in trail.items()}
    assert shown(user__id__exact=owner.pk) == {ids["paused"], ids["old"]}
    repairs_worker = trail["paused"].content_type_id
    assert shown(content_type__id__exact=repairs_worker) == {ids["paused"], ids["old"]}
    assert shown(via="api") == {ids["approved"], ids["old"]}
    assert shown(via="console") == {ids["paused"]}
    # As the date filter's "Past 7 days" link writes it.
    since = str((timezone.now() - timedelta(days=7)).replace(microsecond=0))
    assert shown(action_time__gte=since) == {ids["paused"], ids["approved"]}


def test_the_page_shows_the_channel_and_the_message_without_its_prefix(client, owner, trail):
    client.force_login(owner)

    page = client.get(reverse(PAGE), {"via": "console"}).content.decode()

    assert "Paused: keys" in page
    assert "[console]" not in page


def test_nobody_adds_edits_or_deletes_an_audit_entry(client, trail):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    entry = trail["paused"]

    assert client.get(reverse("admin:admin_logentry_add")).status_code == 403
    assert client.post(reverse("admin:admin_logentry_delete", args=[entry.pk])).status_code == 403
    assert LogEntry.objects.filter(pk=entry.pk).exists()


def test_the_api_lists_the_trail_with_the_same_filters(session_client, viewer, owner, trail):
    api = session_client(viewer)

    def listed(**query) -> list[int]:
        response = api.get(API_LIST, query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    ids = {name: entry.pk for name, entry in trail.items()}
    assert listed() == [ids["old"], ids["approved"], ids["paused"]]  # newest first
    assert listed(user=owner.username) == [ids["old"], ids["paused"]]
    assert listed(object_type="repairs.worker") == [ids["old"], ids["paused"]]
    assert listed(via="api") == [ids["old"], ids["approved"]]
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert listed(since=since) == [ids["approved"], ids["paused"]]
    row = api.get(API_LIST, {"via": "console"}).json()["results"][0]
    assert row["via"] == "console"
    assert row["action"] == "change"
    assert row["message"] == "Paused: keys"
    assert row["user"] == owner.username


def test_the_reviewer_and_workers_do_not_read_the_trail(session_client, reviewer, worker_client):
    assert session_client(reviewer).get(API_LIST).status_code == 403
    assert worker_client.get(API_LIST).status_code == 403
