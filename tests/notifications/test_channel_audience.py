"""Channels speak their audience's language and clock: a report's time, a digest's words,
times and money are written in the channel's language and time zone (blank: the console's:
Asia/Taipei). Frozen clock: the report is raised at 01:10 UTC, 09:10 in Taipei."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone, translation

from core.clock import when
from core.money import money
from notifications import digests
from notifications.models import OwnerReport
from notifications.services import digest_enqueue
from tests.notifications.conftest import answer, drain, raise_reports, received

RAISED = datetime(2026, 12, 4, 1, 10, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def test_a_report_s_time_is_shown_in_the_channel_s_zone_and_says_which(httpserver, make_channel):
    local = make_channel("taipei", kind="discord")
    abroad = make_channel("new-york", kind="discord", time_zone="America/New_York")
    for channel in (local, abroad):
        answer(httpserver, channel)
    raise_reports(1)
    OwnerReport.objects.update(created_at=RAISED)

    with translation.override("en"), timezone.override(UTC):  # whoever drains: no matter
        drain(local)
        drain(abroad)

    (at_home,) = received(httpserver, local)
    (away,) = received(httpserver, abroad)
    assert "2026-12-04 09:10 (Asia/Taipei)" in at_home["content"]
    assert "2026-12-03 20:10 (America/New_York)" in away["content"]
    # The structured field stays UTC, in ISO 8601, for machines.
    assert OwnerReport.objects.filter(created_at=RAISED).count() == 2


@pytest.fixture
def audience_digest():
    """A digest that writes down whom it was written for."""

    def build():
        return {
            "title": f"{translation.get_language()} {timezone.get_current_timezone_name()}",
            "done": f"{when(RAISED)}; {money(150_000)}",
        }

    digests.register("audience", build)
    yield
    digests.unregister("audience")


@override_settings(PLS_CURRENCY="TWD", LANGUAGE_CODE="zh-hant")
def test_a_digest_is_written_once_per_audience_in_its_language_and_zone(
    make_channel, audience_digest
):
    make_channel("owner-zh")
    make_channel("owner-en", language="en", time_zone="Europe/London")

    with translation.override("en"):  # the caller's language does not leak into the digest
        reports = digest_enqueue(name="audience")

    written = {r.channel.name: r for r in reports}
    zh, en = written["owner-zh"], written["owner-en"]
    assert zh.title == "zh-hant Asia/Taipei"  # blank: the console's defaults
    assert zh.done == "2026-12-04 09:10 (Asia/Taipei); $1,500.00"
    assert en.title == "en Europe/London"
    assert en.done == "2026-12-04 01:10 (Europe/London); NT$1,500.00"
    assert zh.dedup_key == en.dedup_key == f"digest.audience:{timezone.localdate():%Y-%m-%d}"


def test_a_digest_for_channels_that_all_use_the_defaults_is_built_once(make_channel):
    calls = []
    digests.register("once", lambda: calls.append(1) or {"title": "t"})
    make_channel("a")
    make_channel("b")
    try:
        assert len(digest_enqueue(name="once")) == 2
    finally:
        digests.unregister("once")
    assert calls == [1]


def test_a_channel_refuses_an_unknown_language_or_zone(make_channel):
    channel = make_channel("ops")
    channel.language, channel.time_zone = "klingon", "Asia/Taipe"
    with pytest.raises(ValidationError) as refused:
        channel.full_clean()
    assert set(refused.value.message_dict) == {"language", "time_zone"}
