"""The owner changes the policy in the console: a form of the version in force, a preview
with the diff and the simulation of the recent events, and a confirm that writes the next
version from the version shown (a stale one is refused, never overwritten)."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from policies.models import PolicyDecision, WorkerPolicy
from tests.console import EVENTS, shown_messages
from tests.factories import event_body, policy_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def page() -> str:
    return reverse("admin:policies_workerpolicy_change_policy")


def form_data(client, page: str, **changes) -> dict:
    """The form as the page fills it, with ``changes`` typed in."""
    form = client.get(page).context["form"]
    return {**{name: form[name].value() for name in form.fields}, **changes}


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs of a page, as a browser would post them."""
    fields: dict[str, str] = {}

    class Inputs(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list) -> None:
            named = dict(attrs)
            if tag == "input" and named.get("type") == "hidden":
                fields[named["name"]] = named.get("value") or ""

    Inputs().feed(html)
    return fields


@pytest.mark.parametrize("role", ["reviewer", "viewer"])
def test_only_the_owner_opens_the_change_page(role, request, client, page):
    client.force_login(request.getfixturevalue(role))

    assert client.get(page).status_code == 403
    assert client.post(page, {"_confirm": "1"}).status_code == 403


@pytest.mark.parametrize(("role", "linked"), [("owner", True), ("viewer", False)])
def test_the_versions_list_links_the_change_page_for_the_owner(role, linked, request, client, page):
    client.force_login(request.getfixturevalue(role))

    versions = client.get(reverse("admin:policies_workerpolicy_changelist"))

    assert versions.status_code == 200
    assert (f'href="{page}"' in versions.content.decode()) is linked


def test_the_form_is_filled_from_the_version_in_force(client, owner, page):
    policy_set(max_auto_retries=3)
    client.force_login(owner)

    form = client.get(page).context["form"]

    assert form["base"].value() == WorkerPolicy.objects.get(version=2).pk
    assert form["max_auto_retries"].value() == 3
    assert form["repeat_window"].value() == 86400
    # The floor's patterns are shown apart, locked; the box holds what the policy adds.
    assert form["protected_resources"].value() == ""
    assert form["days"].value() == 7


def test_the_preview_simulates_the_draft_on_the_recent_events(client, owner, page, worker_client):
    for _ in range(2):  # the second retry of one job is over the interim budget of one
        worker_client.post(EVENTS, event_body(action="retry"), format="json")
    client.force_login(owner)
    data = form_data(client, page, max_auto_retries=2, rationale="flaky CI needs two")

    response = client.post(page, {**data, "_preview": "1"})

    preview = response.context["preview"]
    assert preview["diff"] == [("max_auto_retries", "1", "2")]
    simulation = preview["simulation"]
    # Two retries; the repair_suggested record of the proposal they raised is not a
    # worker's action and is left out.
    assert simulation["events_considered"] == 2
    assert simulation["actual"] == {"allowed": 1, "needs_approval": 1}
    assert simulation["simulated"] == {"allowed": 2}
    assert [(c["change"], c["count"]) for c in simulation["changed"]] == [
        ("needs_approval → allowed", 1)
    ]
    html = response.content.decode()
    assert "needs approval → allowed: 1" in html  # the page shows the labels
    assert 'name="_confirm"' in html
    assert WorkerPolicy.objects.count() == 1  # a preview writes nothing


def test_confirm_writes_the_next_version_and_a_decision_with_the_rationale(client, owner, page):
    client.force_login(owner)
    data = form_data(client, page, max_auto_retries=2, rationale="flaky CI needs two")
    preview = client.post(page, {**data, "_preview": "1"}).content.decode()

    # The preview carries the form in hidden fields; Confirm posts them back.
    response = client.post(page, {**hidden_fields(preview), "_confirm": "1"}, follow=True)

    policy = WorkerPolicy.objects.get(version=2)
    assert policy.max_auto_retries == 2
    assert policy.created_by == owner
    decision = PolicyDecision.objects.get()
    assert decision.rationale == "flaky CI needs two"
    assert decision.changes == {"max_auto_retries": [1, 2]}
    assert shown_messages(response) == [f"Worker policy v2 is in force (decision #{decision.pk})."]


def test_durations_are_entered_in_seconds(client, owner, page):
    client.force_login(owner)
    data = form_data(client, page, approval_ttl=4 * 3600, rationale="decide within a shift")

    client.post(page, {**data, "_confirm": "1"})

    assert WorkerPolicy.objects.get(version=2).approval_ttl.total_seconds() == 4 * 3600


def test_confirming_a_stale_version_is_refused_and_writes_nothing(client, owner, page):
    client.force_login(owner)
    data = form_data(client, page, allow_auto_touch=True, rationale="touch is harmless")
    policy_set(max_auto_retries=3)  # someone else changed the policy meanwhile

    response = client.post(page, {**data, "_confirm": "1"}, follow=True)

    assert shown_messages(response) == [
        "Version 1 is no longer current (v2 is); re-read the policy and apply the change "
        "to the current version."
    ]
    assert WorkerPolicy.objects.count() == 2
    assert WorkerPolicy.objects.get(version=2).allow_auto_touch is False
    # Back on a form filled from the version now in force.
    assert response.context["form"]["max_auto_retries"].value() == 3


def test_the_form_is_checked_by_the_api_rules(client, owner, page):
    client.force_login(owner)
    data = form_data(
        client,
        page,
        approval_matrix='{"hard_complete": "pls_owner"}',
        repeat_window=5,
        rationale="",
    )

    response = client.post(page, {**data, "_preview": "1"})

    form = response.context["form"]
    assert form.errors["rationale"] == ["This field is required."]
    response = client.post(page, {**data, "rationale": "why not", "_preview": "1"})
    form = response.context["form"]
    assert "denied under every policy" in form.errors["approval_matrix"][0]
    assert form.errors["repeat_window"] == ["Ensure this value is greater than or equal to 60."]
    assert response.context["preview"] is None
    assert WorkerPolicy.objects.count() == 1


def test_a_change_that_changes_nothing_is_refused(client, owner, page):
    client.force_login(owner)
    data = form_data(client, page, rationale="just looking")

    response = client.post(page, {**data, "_preview": "1"})

    assert "Nothing to change" in response.context["form"].non_field_errors()[0]


def test_versions_are_listed_with_the_current_one_marked_and_never_edited(client, owner):
    policy_set(max_auto_retries=2)
    client.force_login(owner)

    versions = client.get(reverse("admin:policies_workerpolicy_changelist"))
    v1 = WorkerPolicy.objects.get(version=1)

    assert [(p.version, p.current) for p in versions.context["cl"].result_list] == [
        (2, True),
        (1, False),
    ]
    assert client.get(reverse("admin:policies_workerpolicy_add")).status_code == 403
    assert client.get(reverse("admin:policies_workerpolicy_delete", args=[v1.pk])).status_code == (
        403
    )
    detail = client.get(reverse("admin:policies_workerpolicy_change", args=[v1.pk]))
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content
