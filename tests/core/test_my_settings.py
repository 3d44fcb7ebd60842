"""My settings: each person picks their language and zone in the console (linked from the
header), and the console then shows them times in that zone."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from core.profiles import profile_for
from notifications.models import Channel

pytestmark = pytest.mark.django_db

PAGE = "/admin/console/my-settings/"


def test_the_header_links_every_person_to_their_settings(viewer, session_client):
    home = session_client(viewer).get("/admin/")

    assert f'id="my-settings-link" href="{PAGE}"' in home.content.decode()


def test_a_person_picks_a_zone_and_language_and_keeps_them(viewer, session_client):
    client = session_client(viewer)

    saved = client.post(PAGE, {"language": "en", "time_zone": "Europe/Berlin"})

    assert saved.status_code == 302
    profile = profile_for(viewer)
    assert (profile.language, profile.time_zone) == ("en", "Europe/Berlin")
    page = client.get(PAGE).content.decode()
    assert '<option value="Europe/Berlin" selected>' in page
    assert "(Europe/Berlin)" in page  # "Now: … (Europe/Berlin)"


def test_blank_returns_to_the_console_defaults(viewer, session_client):
    client = session_client(viewer)
    client.post(PAGE, {"language": "en", "time_zone": "Europe/Berlin"})

    client.post(PAGE, {"language": "", "time_zone": ""})

    profile = profile_for(viewer)
    assert (profile.language, profile.time_zone) == ("", "")
    assert "(Asia/Taipei)" in client.get(PAGE).content.decode()


def test_an_unknown_zone_is_refused_and_nothing_changes(viewer, session_client):
    answer = session_client(viewer).post(PAGE, {"time_zone": "Mars/Olympus"})

    assert answer.status_code == 200
    assert "Mars/Olympus" in answer.content.decode()  # "…is not one of the available choices"
    assert profile_for(viewer).time_zone == ""


def test_times_in_the_console_follow_the_person_s_zone(owner, session_client):
    client = session_client(owner)
    muted = datetime(2026, 12, 4, 1, 10, tzinfo=UTC)
    channel = Channel.objects.create(name="ops", kind="email", target="o@example.com")
    Channel.objects.filter(pk=channel.pk).update(muted_until=muted)
    change = f"/admin/notifications/channel/{channel.pk}/change/"

    at_home = client.get(change).content.decode()
    client.post(PAGE, {"language": "en", "time_zone": "America/New_York"})
    abroad = client.get(change).content.decode()

    assert 'value="2026-12-04"' in at_home and 'value="09:10:00"' in at_home
    assert 'value="2026-12-03"' in abroad and 'value="20:10:00"' in abroad


def test_a_channel_s_mute_says_the_reader_s_zone(db):
    channel = Channel(name="ops", kind="email", muted_until=timezone.now() + timedelta(hours=1))
    with timezone.override(timezone.get_default_timezone()):
        assert channel.unready_reason(timezone.now()).endswith("(Asia/Taipei)")
    with timezone.override(UTC):
        assert channel.unready_reason(timezone.now()).endswith("(UTC)")
