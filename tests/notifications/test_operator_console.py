"""The console: the owner manages channels; every role reads the reports."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from notifications.models import Channel, OwnerReport
from notifications.services import report_enqueue
from tests.notifications.conftest import answer, drain, raise_reports

CHANNELS = "admin:notifications_channel_changelist"
REPORTS = "admin:notifications_ownerreport_changelist"


@pytest.mark.parametrize("role", ["viewer", "reviewer"])
def test_viewers_and_reviewers_read_reports_but_not_channels(
    db, client, request, role, make_channel
):
    make_channel("ops")
    raise_reports(1)
    client.force_login(request.getfixturevalue(role))

    assert client.get(reverse(REPORTS)).status_code == 200
    assert client.get(reverse(CHANNELS)).status_code == 403
    assert client.get(reverse("admin:notifications_channel_add")).status_code == 403


@pytest.mark.parametrize("role", ["viewer", "reviewer"])
def test_viewers_and_reviewers_can_neither_replay_nor_purge(
    db, client, request, role, make_channel
):
    make_channel("ops")
    (report,) = raise_reports(1)
    OwnerReport.objects.filter(pk=report.pk).update(state="failed")
    client.force_login(request.getfixturevalue(role))

    client.post(reverse(REPORTS), {"action": "replay_failed", "_selected_action": [report.pk]})

    assert OwnerReport.objects.get(pk=report.pk).state == "failed"
    assert client.get(reverse("admin:notifications_ownerreport_purge")).status_code == 403


def test_the_report_list_shows_state_channel_and_last_error(
    db, client, owner, httpserver, make_channel
):
    report_enqueue(source="stuck_claim", title="nobody listens")  # before any channel
    channel = make_channel("ops")
    answer(httpserver, channel, 503)
    raise_reports(1)
    drain(channel)
    client.force_login(owner)

    page = client.get(reverse(REPORTS)).content.decode()
    assert "HTTP 503" in page
    assert "(unrouted)" in page
    pending = client.get(
        reverse(REPORTS), {"channel__id__exact": channel.pk, "state__exact": "pending"}
    )
    assert "report 0" in pending.content.decode()
    channels_page = client.get(reverse(CHANNELS)).content.decode()
    assert "HTTP 503" in channels_page


def test_the_owner_adds_a_channel_and_sends_it_a_test_report(db, client, owner, httpserver):
    client.force_login(owner)
    response = client.post(
        reverse("admin:notifications_channel_add"),
        {
            "name": "team-discord",
            "kind": "discord",
            "enabled": "on",
            "min_status": "normal",
            "url": httpserver.url_for("/discord/team-discord"),
        },
    )
    assert response.status_code == 302
    channel = Channel.objects.get(name="team-discord")
    answer(httpserver, channel, 204)

    client.post(reverse(CHANNELS), {"action": "send_test", "_selected_action": [channel.pk]})
    drain(channel)

    (test_report,) = OwnerReport.objects.filter(source="channel.test")
    assert (test_report.channel, test_report.state) == (channel, "sent")


def test_a_channel_missing_its_credentials_is_refused(db, client, owner):
    client.force_login(owner)

    response = client.post(
        reverse("admin:notifications_channel_add"),
        {"name": "tg", "kind": "telegram", "enabled": "on", "min_status": "normal"},
    )

    assert response.status_code == 200
    assert "Required for this kind of channel." in response.content.decode()
    assert not Channel.objects.exists()


def test_saving_a_channel_clears_its_backoff(db, client, owner, make_channel):
    channel = make_channel("ops")
    Channel.objects.filter(pk=channel.pk).update(
        failure_streak=4, retry_at=timezone.now() + timedelta(hours=1)
    )
    client.force_login(owner)

    client.post(
        reverse("admin:notifications_channel_change", args=[channel.pk]),
        {"name": "ops", "kind": "webhook", "enabled": "on", "min_status": "normal"},
    )

    channel.refresh_from_db()
    assert (channel.failure_streak, channel.retry_at) == (0, None)


def archived(days_ago: int, state: str) -> OwnerReport:
    (report,) = report_enqueue(source="x", title=f"{state} {days_ago}d")
    OwnerReport.objects.filter(pk=report.pk).update(
        state=state, created_at=timezone.now() - timedelta(days=days_ago)
    )
    return report


@pytest.fixture
def history(make_channel) -> dict[str, OwnerReport]:
    make_channel("ops")
    return {
        "old_sent": archived(40, "sent"),
        "old_suppressed": archived(40, "suppressed"),
        "old_failed": archived(40, "failed"),
        "old_pending": archived(40, "pending"),
        "new_sent": archived(5, "sent"),
    }


def kept(history: dict[str, OwnerReport]) -> set[str]:
    left = set(OwnerReport.objects.values_list("pk", flat=True))
    return {name for name, report in history.items() if report.pk in left}


def test_the_owner_purges_archived_reports_older_than_n_days(db, client, owner, history):
    client.force_login(owner)
    assert b"Purge archived" in client.get(reverse(REPORTS)).content

    response = client.post(
        reverse("admin:notifications_ownerreport_purge"), {"older_than_days": 30}
    )

    assert response.status_code == 302
    assert kept(history) == {"old_failed", "old_pending", "new_sent"}


def test_the_purge_command_for_cron_keeps_what_still_needs_someone(db, history, capsys):
    call_command("purge_reports", older_than_days=30)

    assert kept(history) == {"old_failed", "old_pending", "new_sent"}
    assert "Purged 2 archived report(s) older than 30 days." in capsys.readouterr().out


def test_reports_are_never_edited_or_deleted_one_by_one(db, client, owner, make_channel):
    make_channel("ops")
    (report,) = raise_reports(1)
    client.force_login(owner)

    url = reverse("admin:notifications_ownerreport_change", args=[report.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert client.post(url, {"title": "edited"}).status_code == 403
    delete = reverse("admin:notifications_ownerreport_delete", args=[report.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert OwnerReport.objects.get(pk=report.pk).title == "report 0"
