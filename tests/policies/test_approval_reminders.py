"""The policy says, per action, when an unanswered request is reminded and escalated: seeded,
validated, and recorded in the decision's before → after like every other field."""

import pytest

from policies.models import PolicyDecision

CURRENT = "/api/v1/worker-policy/current"

pytestmark = pytest.mark.django_db


def patch(client, policy_id: int, **body):
    return client.patch(f"/api/v1/worker-policy/{policy_id}", body, format="json")


def test_the_interim_policy_reminds_after_an_hour_and_escalates_after_four(worker_client):
    reminders = worker_client.get(CURRENT).json()["approval_reminders"]

    assert reminders["release"] == {"remind_after": 3600, "escalate_after": 14400}
    assert set(reminders) >= {"release", "reclaim", "restart_session", "retry", "touch"}


def test_a_change_of_reminders_is_a_new_version_with_its_diff(owner, session_client):
    client = session_client(owner)
    v1 = client.get(CURRENT).json()
    wanted = {"release": {"remind_after": 600, "escalate_after": 1800}}

    response = patch(client, v1["id"], approval_reminders=wanted, rationale="faster nudges")

    assert response.status_code == 200, response.content
    assert response.json()["policy"]["approval_reminders"] == wanted
    before, after = PolicyDecision.objects.get().changes["approval_reminders"]
    assert before["release"] == {"remind_after": 3600, "escalate_after": 14400}
    assert after == wanted


@pytest.mark.parametrize(
    ("reminders", "complaint"),
    [
        ({"release": {"remind_after": 1800, "escalate_after": 600}}, "must come after"),
        ({"hard_complete": {"remind_after": 600}}, "Not actions that can need approval"),
        ({"release": {"remind_after": 10}}, "greater than or equal to 60"),
        ({"release": {"nudge_after": 600}}, "not one of remind_after, escalate_after"),
    ],
)
def test_nonsense_reminders_are_refused(owner, session_client, reminders, complaint):
    client = session_client(owner)
    v1 = client.get(CURRENT).json()

    response = patch(client, v1["id"], approval_reminders=reminders, rationale="try")

    assert response.status_code == 400
    assert complaint in response.content.decode()
    assert not PolicyDecision.objects.exists()
