"""The console home: pending approvals (oldest first, the person's own highlighted, decided
right there), the panels, the worker board and the scorecard's inline SVG charts."""

import re

import pytest
from django.urls import reverse

from repairs.models import SelfHealRequest, Worker
from tests.console import shown_messages

pytestmark = pytest.mark.django_db

HOME = "/admin/"


def decide_url(heal: SelfHealRequest) -> str:
    return reverse("admin:console_self_heal_decide", args=[heal.pk])


def approval_rows(html: str) -> list[tuple[int, bool]]:
    """(request id, highlighted for this person) of each row of the approvals table."""
    return [
        (int(pk), "may-decide" in classes)
        for classes, pk in re.findall(r'<tr class="approval([^"]*)" data-request="(\d+)">', html)
    ]


def refusal_shown(html: str, heal: SelfHealRequest) -> str | None:
    """The reason the request's row gives for showing no buttons, if any."""
    row = re.search(rf'data-request="{heal.pk}">(.*?)</tr>', html, re.S)
    assert row is not None
    said = re.search(r'<span class="quiet refusal">([^<]*)</span>', row[1])
    return said[1] if said else None


def test_pending_approvals_are_listed_oldest_first_with_their_age(client, reviewer, fleet):
    newer = fleet.request(created=fleet.ago(minutes=5))
    older = fleet.request(created=fleet.ago(hours=3))
    fleet.request(status="approved", latency=30)
    client.force_login(reviewer)

    html = client.get(HOME).content.decode()

    assert [pk for pk, _ in approval_rows(html)] == [older.pk, newer.pk]
    assert "3\xa0hours" in html and "5\xa0minutes" in html
    assert "2 pending, 2 for you" in html


def test_only_requests_this_person_may_decide_are_highlighted_with_buttons(
    client, owner, reviewer, fleet
):
    for_reviewer = fleet.request(approver_role="risk_reviewer")
    for_owner = fleet.request(approver_role="pls_owner")
    own = fleet.request(requested_by=reviewer)
    client.force_login(reviewer)

    html = client.get(HOME).content.decode()

    assert dict(approval_rows(html)) == {for_reviewer.pk: True, for_owner.pk: False, own.pk: False}
    assert html.count('value="approve"') == html.count('value="reject"') == 1
    assert decide_url(for_reviewer) in html
    # Without the buttons, the row says why, in the words of the rule the service applies.
    assert refusal_shown(html, own) == own.refusal_for(reviewer)
    assert refusal_shown(html, own) == "Nobody decides their own request; another person must."
    assert refusal_shown(html, for_owner) == "Only the pls_owner role decides this request."
    assert refusal_shown(html, for_reviewer) is None


def test_the_reviewer_approves_from_the_home_and_the_request_leaves_the_queue(
    client, reviewer, fleet
):
    heal = fleet.request()
    client.force_login(reviewer)

    response = client.post(
        decide_url(heal), {"decision": "approve", "note": "go ahead"}, follow=True
    )

    heal.refresh_from_db()
    assert (heal.status, heal.decided_by, heal.note) == ("approved", reviewer, "go ahead")
    assert response.redirect_chain[-1][0] == "/admin/#approvals"
    assert shown_messages(response) == [
        f"Self-heal request #{heal.pk} approved: {heal.worker} may release now."
    ]
    assert approval_rows(response.content.decode()) == []


def test_rejecting_needs_a_note_as_in_the_api(client, reviewer, fleet):
    heal = fleet.request()
    client.force_login(reviewer)

    refused = client.post(decide_url(heal), {"decision": "reject", "note": ""}, follow=True)
    heal.refresh_from_db()
    assert heal.status == "pending"
    assert shown_messages(refused) == [f"Self-heal request #{heal.pk}: This field is required."]

    client.post(decide_url(heal), {"decision": "reject", "note": "not on prod"})
    heal.refresh_from_db()
    assert (heal.status, heal.note) == ("rejected", "not on prod")


def test_the_service_still_refuses_a_forged_post_on_ones_own_request(client, reviewer, fleet):
    heal = fleet.request(requested_by=reviewer)
    client.force_login(reviewer)

    response = client.post(decide_url(heal), {"decision": "approve"}, follow=True)

    heal.refresh_from_db()
    assert heal.status == "pending"
    assert "Nobody decides their own request" in shown_messages(response)[0]


def test_a_viewer_cannot_decide_even_by_posting(client, viewer, fleet):
    heal = fleet.request()
    client.force_login(viewer)

    response = client.post(decide_url(heal), {"decision": "approve"})

    assert response.status_code == 403
    heal.refresh_from_db()
    assert heal.status == "pending"


def test_the_decide_form_needs_a_post_with_a_known_decision(client, reviewer, fleet):
    heal = fleet.request()
    client.force_login(reviewer)

    assert client.get(decide_url(heal)).status_code == 405
    assert client.post(decide_url(heal), {"decision": "maybe"}).status_code == 400
    assert (
        client.post(
            reverse("admin:console_self_heal_decide", args=[10**9]), {"decision": "approve"}
        ).status_code
        == 404
    )


def test_the_decide_form_is_csrf_protected(reviewer, fleet):
    from django.test import Client

    heal = fleet.request()
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)

    assert client.post(decide_url(heal), {"decision": "approve"}).status_code == 403
    heal.refresh_from_db()
    assert heal.status == "pending"


def test_an_overdue_request_offers_no_buttons(client, reviewer, fleet):
    heal = fleet.request(created=fleet.ago(hours=30))
    client.force_login(reviewer)

    html = client.get(HOME).content.decode()

    assert approval_rows(html) == [(heal.pk, False)]
    assert "expires on the next sweep" in html


def test_the_home_draws_the_scorecard_as_inline_svg(client, viewer, fleet):
    fleet.event("stuck_claim", "lease_expired")
    fleet.event("artifact_guard", "completion_blocked")
    fleet.request(status="approved", latency=120)
    client.force_login(viewer)

    html = client.get(HOME).content.decode()

    charts = re.findall(r'<svg class="chart[^"]*" role="img" aria-label="([^"]+)"', html)
    assert charts[:4] == [
        "Repair events per day, last 7 days: 3 in all",
        "Repair events by gate, 7 d",
        "Top error classes, 7 d",
        "Approval latency of 1 decided requests, 7 d",
    ]
    dashboard = html[html.index('<div class="console-home">') : html.index('id="scorecard"') + 9000]
    assert "<script" not in dashboard  # the admin's own theme switcher aside, no JavaScript
    assert "<title>lease_expired: 2</title>" in html
    assert 'id="d7-acceptance"' in html and 'data-milestone="D30"' in html


def test_the_person_picks_the_scorecard_window(client, viewer, fleet):
    fleet.event("stuck_claim", "lease_expired", at=fleet.ago(days=20))
    client.force_login(viewer)

    week = client.get(HOME).context["scorecard"]
    month = client.get(HOME, {"days": 30}).context["scorecard"]
    nonsense = client.get(HOME, {"days": "900"}).context["scorecard"]

    assert (week["events"]["total"], month["events"]["total"]) == (0, 1)
    assert nonsense["window"]["days"] == 7


def test_an_error_class_cannot_inject_markup_into_the_charts(client, viewer, fleet):
    fleet.event("stuck_claim", "x<script>alert(1)</script>")
    client.force_login(viewer)

    html = client.get(HOME).content.decode()

    assert "<script>alert(1)" not in html
    assert "x&lt;script&gt;" in html


def test_the_worker_board_puts_errors_first_with_a_budget_bar(client, viewer, fleet):
    Worker.objects.filter(pk=fleet.worker.pk).update(
        status="error",
        monthly_budget_cents=1000,
        month_spend_cents=900,
        budget_month=fleet.today.replace(day=1),
    )
    client.force_login(viewer)

    response = client.get(HOME)

    (row, *_) = response.context["workers"]
    assert row["worker"].pk == fleet.worker.pk
    assert 'aria-label="90 % of the monthly budget"' in str(row["budget"])
    assert 'class="worker status-error"' in response.content.decode()


def test_open_policy_questions_are_listed(client, viewer):
    client.force_login(viewer)

    html = client.get(HOME).content.decode()

    panel = html[html.index('id="policy-questions"') :]
    assert 'Open policy questions <span class="panel-count">3</span>' in html
    assert "Which self-heal actions need the risk reviewer" in panel


def test_a_person_without_a_role_sees_no_fleet_figures(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True))

    response = client.get(HOME)

    assert response.status_code == 200
    for panel in ("approvals", "d7-acceptance", "worker-board", "scorecard", "policy-questions"):
        assert f'id="{panel}"' not in response.content.decode()
