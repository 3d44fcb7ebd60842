"""Decision records in the console: every role reads them, with the change spelt out, and
nobody adds, edits or deletes one, not even a superuser."""

from datetime import timedelta

import pytest
from django.urls import reverse

from policies.models import PolicyDecision
from tests.console import console_rights
from tests.factories import UserFactory, policy_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def decision() -> PolicyDecision:
    policy_set(max_auto_retries=2, repeat_window=timedelta(hours=12))
    return PolicyDecision.objects.get()


def test_a_decision_shows_who_why_and_the_change_before_and_after(client, viewer, decision):
    client.force_login(viewer)

    page = client.get(reverse("admin:policies_policydecision_change", args=[decision.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert "test setup" in html  # the rationale
    assert "<code>max_auto_retries</code>: 1 → 2" in html
    assert "<code>repeat_window</code>: 86400 s (1 d) → 43200 s (12 h)" in html
    assert ">v1</a> → <a" in html


def test_the_list_shows_the_decisions(client, viewer, decision):
    client.force_login(viewer)

    listing = client.get(reverse("admin:policies_policydecision_changelist"))

    assert list(listing.context["cl"].result_list) == [decision]
    assert "(policy change)" in listing.content.decode()


def test_nobody_edits_or_deletes_a_decision_not_even_a_superuser(client, decision):
    superuser = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(superuser)

    delete_page = client.get(reverse("admin:policies_policydecision_delete", args=[decision.pk]))
    edit = client.post(
        reverse("admin:policies_policydecision_change", args=[decision.pk]),
        {"decision": "reject", "rationale": "rewritten"},
    )
    add_page = client.get(reverse("admin:policies_policydecision_add"))

    assert (delete_page.status_code, edit.status_code, add_page.status_code) == (403, 403, 403)
    assert PolicyDecision.objects.get(pk=decision.pk).rationale == "test setup"
    assert console_rights(superuser, decision) == {"add": False, "change": False, "delete": False}
