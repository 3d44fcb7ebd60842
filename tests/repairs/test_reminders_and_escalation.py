"""An unanswered self-heal request is reminded at the policy's remind_after and escalated at
its escalate_after, each once, whatever the number of runs (after Alertmanager's
repeat_interval). The clock is frozen: every run is given its moment."""

from datetime import timedelta

import pytest

from notifications.models import OwnerReport
from repairs.models import SelfHealRequest
from repairs.services import self_heal_requests_remind
from tests.factories import ChannelFactory, event_body, policy_set

EVENTS = "/api/v1/worker-repair-events"
REMIND, ESCALATE = 600, 1800

pytestmark = pytest.mark.django_db


@pytest.fixture
def channels(settings):
    """One channel per role, and a pager channel named by the escalation setting."""
    settings.PLS_ESCALATION_ROLE = "pls_owner"
    settings.PLS_ESCALATION_CHANNEL = "pager"
    return {
        "reviewers": ChannelFactory(name="reviewers", role="risk_reviewer"),
        "owners": ChannelFactory(name="owners", role="pls_owner"),
        "pager": ChannelFactory(name="pager", role="pls_owner", min_status="critical"),
    }


@pytest.fixture
def pending(worker_client, channels) -> SelfHealRequest:
    policy_set(approval_reminders={"release": {"remind_after": REMIND, "escalate_after": ESCALATE}})
    body = worker_client.post(EVENTS, event_body(action="release"), format="json").json()
    return SelfHealRequest.objects.get(pk=body["self_heal_request"])


def reports(source: str) -> list[tuple[str, str]]:
    return sorted((r.channel.name, r.dedup_key) for r in OwnerReport.objects.filter(source=source))


def test_nothing_is_reminded_before_remind_after(pending):
    assert self_heal_requests_remind(now=pending.created_at + timedelta(seconds=REMIND - 1)) == 0
    assert reports("self_heal.reminder") == []


def test_a_reminder_goes_to_the_approving_role_at_remind_after_once(pending):
    at = pending.created_at + timedelta(seconds=REMIND)

    assert self_heal_requests_remind(now=at) == 1
    # A second run, a restart, a later run before escalate_after: nothing more.
    assert self_heal_requests_remind(now=at) == 0
    assert self_heal_requests_remind(now=at + timedelta(seconds=ESCALATE - REMIND - 1)) == 0

    assert reports("self_heal.reminder") == [("reviewers", f"self_heal.remind:{pending.pk}")]
    assert reports("self_heal.escalated") == []
    reminder = OwnerReport.objects.get(source="self_heal.reminder")
    assert f"#{pending.pk}" in reminder.next_step
    assert reminder.role == "risk_reviewer"


def test_an_escalation_goes_to_the_approving_and_escalation_roles_at_escalate_after_once(
    pending,
):
    start = pending.created_at
    self_heal_requests_remind(now=start + timedelta(seconds=REMIND))

    at = start + timedelta(seconds=ESCALATE)
    assert self_heal_requests_remind(now=at) == 1
    assert self_heal_requests_remind(now=at + timedelta(hours=1)) == 0

    key = f"self_heal.escalate:{pending.pk}"
    assert reports("self_heal.escalated") == [("pager", key), ("reviewers", key)]
    assert len(reports("self_heal.reminder")) == 1
    pending.refresh_from_db()
    assert pending.reminded_at == start + timedelta(seconds=REMIND)
    assert pending.escalated_at == at


def test_a_run_that_finds_both_due_sends_only_the_escalation(pending):
    self_heal_requests_remind(now=pending.created_at + timedelta(seconds=ESCALATE))

    assert reports("self_heal.reminder") == []
    assert len(reports("self_heal.escalated")) == 2
    assert self_heal_requests_remind(now=pending.created_at + timedelta(seconds=ESCALATE)) == 0


def test_a_decided_request_is_neither_reminded_nor_escalated(pending, reviewer, session_client):
    session_client(reviewer).post(
        f"/api/v1/self-heal-requests/{pending.pk}/approve", {"note": "ok"}, format="json"
    )

    assert self_heal_requests_remind(now=pending.created_at + timedelta(seconds=ESCALATE)) == 0


def test_an_action_without_reminders_in_the_policy_is_never_reminded(worker_client, channels):
    policy_set(approval_reminders={"release": {"remind_after": None, "escalate_after": None}})
    body = worker_client.post(EVENTS, event_body(action="release"), format="json").json()
    request = SelfHealRequest.objects.get(pk=body["self_heal_request"])

    assert self_heal_requests_remind(now=request.created_at + timedelta(hours=23)) == 0


def test_the_seeded_policy_reminds_after_an_hour_and_escalates_after_four(worker_client, channels):
    body = worker_client.post(EVENTS, event_body(action="reclaim"), format="json").json()
    request = SelfHealRequest.objects.get(pk=body["self_heal_request"])

    assert self_heal_requests_remind(now=request.created_at + timedelta(minutes=59)) == 0
    assert self_heal_requests_remind(now=request.created_at + timedelta(hours=1)) == 1
    assert self_heal_requests_remind(now=request.created_at + timedelta(hours=4)) == 1
