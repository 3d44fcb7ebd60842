"""Every console page and every admin list, rendered in zh-Hant, shows no English entry of
the catalogue: each string a person reads there is translated."""

import pytest
from django.urls import reverse

from policies.models import Proposal
from tests.dashboards.fleet import Fleet
from tests.factories import LearningUpdateFactory
from tests.i18n.catalogue import english_entries, english_left, shown_pattern, visible_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(db):
    fleet = Fleet()
    fleet.event("stuck_claim", "lease_expired", action="release")
    fleet.event("artifact_guard", "completion_blocked")
    fleet.request()
    fleet.request(status="approved", latency=90)
    Proposal.objects.create(kind=Proposal.Kind.REPAIR, title="Retry lease_expired twice")
    LearningUpdateFactory(team=fleet.worker.team)
    return fleet


def pages(client) -> list[str]:
    """The home, every list its app list links to, and the console's own pages."""
    home = client.get(reverse("admin:index"))
    lists = [model["admin_url"] for app in home.context["app_list"] for model in app["models"]]
    return [
        reverse("admin:index"),
        *lists,
        reverse("admin:policies_workerpolicy_change_policy"),
        reverse("admin:learning_learningmemoryupdate_prompt_pack") + "?team=",
        reverse("admin:notifications_ownerreport_purge"),
    ]


def test_the_catalogue_finds_an_english_string_left_on_a_page():
    entries = english_entries()

    assert "Pending approvals" in entries
    html = "<h2>Pending approvals <span>3 pending, 1 for you</span></h2><script>x</script>"
    assert english_left(html, entries) == ["Pending approvals", ", %(yours)s for you"]
    assert shown_pattern("job") is None  # one word is also data, not evidence


def test_every_console_page_and_admin_list_is_in_chinese(chinese_client, records):
    entries = english_entries()
    urls = pages(chinese_client)
    assert len(urls) > 15  # every registered model's list, not only the home

    left = {}
    for url in urls:
        response = chinese_client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Language"] == "zh-hant", url
        english = english_left(response.content.decode(), entries)
        if english:
            left[url] = english
    assert left == {}, "\n".join(f"{url}: {english}" for url, english in left.items())


def test_the_home_reads_in_the_domain_words(chinese_client, records):
    text = visible_text(chinese_client.get(reverse("admin:index")).content.decode())

    for word in ("PLS 作戰台", "待核准", "核准", "駁回", "可靠度計分卡", "里程碑", "工作者"):
        assert word in text
