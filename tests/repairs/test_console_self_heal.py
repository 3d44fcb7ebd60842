"""The risk reviewer (or the role the policy names) approves and rejects self-heal requests
in the console; refusals are error messages naming why, and nothing changes."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from repairs.models import SelfHealRequest
from tests.console import EVENTS, action_names, console_rights, run_action, shown_messages
from tests.factories import UserFactory, event_body, policy_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def changelist() -> str:
    return reverse("admin:repairs_selfhealrequest_changelist")


def escalate(worker_client, **fields) -> SelfHealRequest:
    body = worker_client.post(EVENTS, event_body(action="release", **fields), format="json").json()
    return SelfHealRequest.objects.get(pk=body["self_heal_request"])


@pytest.mark.parametrize(
    ("role", "offered"),
    [("reviewer", {"approve", "reject"}), ("owner", {"approve", "reject"}), ("viewer", set())],
)
def test_only_the_deciding_roles_are_offered_approve_and_reject(
    role, offered, request, client, changelist, worker_client
):
    escalate(worker_client)
    client.force_login(request.getfixturevalue(role))

    assert action_names(client, changelist) == offered


def test_approving_first_asks_for_a_note_and_decides_nothing(
    client, reviewer, changelist, worker_client
):
    heal = escalate(worker_client)
    client.force_login(reviewer)

    page = client.post(changelist, {"action": "approve", "_selected_action": [heal.pk]})

    assert page.status_code == 200
    assert b'name="note"' in page.content
    assert b'name="_decide"' in page.content
    assert SelfHealRequest.objects.get(pk=heal.pk).status == "pending"


def test_the_reviewer_approves_a_request(client, reviewer, changelist, worker_client):
    heal = escalate(worker_client)
    client.force_login(reviewer)

    response = run_action(client, changelist, "approve", [heal], note="go ahead")

    heal.refresh_from_db()
    assert (heal.status, heal.decided_by, heal.note) == ("approved", reviewer, "go ahead")
    assert f"Self-heal request #{heal.pk} approved" in " ".join(shown_messages(response))
    assert worker_client.get(f"/api/v1/self-heal-requests/{heal.pk}").json()["status"] == (
        "approved"
    )


def test_a_reject_without_a_note_is_asked_again_and_changes_nothing(
    client, reviewer, changelist, worker_client
):
    heal = escalate(worker_client)
    client.force_login(reviewer)

    page = run_action(client, changelist, "reject", [heal], note="")

    assert b"This field is required." in page.content
    assert SelfHealRequest.objects.get(pk=heal.pk).status == "pending"


def test_the_reviewer_rejects_with_a_note(client, reviewer, changelist, worker_client):
    heal = escalate(worker_client)
    client.force_login(reviewer)

    run_action(client, changelist, "reject", [heal], note="release loses the lease")

    heal.refresh_from_db()
    assert (heal.status, heal.note) == ("rejected", "release loses the lease")


def test_the_wrong_role_is_refused_with_the_reason_and_nothing_changes(
    client, owner, changelist, worker_client
):
    heal = escalate(worker_client)  # the interim policy sends release to the risk reviewer
    client.force_login(owner)

    response = run_action(client, changelist, "approve", [heal], note="")

    assert response.status_code == 200
    assert shown_messages(response) == [
        f"Self-heal request #{heal.pk}: Only the risk_reviewer role decides this request."
    ]
    assert SelfHealRequest.objects.get(pk=heal.pk).status == "pending"


def test_nobody_decides_their_own_request(client, changelist, worker, worker_client):
    heal = escalate(worker_client)
    # The requester's account, made a staff risk reviewer: four-eyes still applies.
    requester = worker.user
    requester.is_staff = True
    requester.save(update_fields=["is_staff"])
    requester.groups.add(Group.objects.get(name="risk_reviewer"))
    client.force_login(requester)

    response = run_action(client, changelist, "approve", [heal], note="")

    assert shown_messages(response) == [
        f"Self-heal request #{heal.pk}: Nobody decides their own request; another person must."
    ]
    assert SelfHealRequest.objects.get(pk=heal.pk).status == "pending"


def test_the_role_the_matrix_names_decides(client, owner, reviewer, changelist, worker_client):
    policy_set(approval_matrix={"release": "pls_owner"})
    heal = escalate(worker_client)
    client.force_login(reviewer)
    refused = run_action(client, changelist, "approve", [heal], note="")
    client.force_login(owner)

    run_action(client, changelist, "approve", [heal], note="owner's call")

    assert "Only the pls_owner role decides" in shown_messages(refused)[0]
    assert SelfHealRequest.objects.get(pk=heal.pk).decided_by == owner


def test_a_request_decided_twice_is_refused_the_second_time(
    client, reviewer, changelist, worker_client
):
    heal = escalate(worker_client)
    client.force_login(reviewer)
    run_action(client, changelist, "approve", [heal], note="")

    response = run_action(client, changelist, "reject", [heal], note="changed my mind")

    assert shown_messages(response) == [
        f"Self-heal request #{heal.pk}: Self-heal request #{heal.pk} is already approved."
    ]
    assert SelfHealRequest.objects.get(pk=heal.pk).status == "approved"


def test_an_expired_request_is_refused_and_recorded_as_expired(
    client, reviewer, changelist, worker_client
):
    heal = escalate(worker_client)
    SelfHealRequest.objects.filter(pk=heal.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    client.force_login(reviewer)

    response = run_action(client, changelist, "approve", [heal], note="")

    assert "expired" in shown_messages(response)[0]
    assert SelfHealRequest.objects.get(pk=heal.pk).status == "expired"


def test_each_selected_request_gets_its_own_outcome(client, reviewer, changelist, worker_client):
    fresh = escalate(worker_client, job="JOB-1")
    decided = escalate(worker_client, job="JOB-2")
    client.force_login(reviewer)
    run_action(client, changelist, "approve", [decided], note="")

    response = run_action(client, changelist, "approve", [fresh, decided], note="")

    messages = shown_messages(response)
    assert any(f"#{fresh.pk} approved" in m for m in messages)
    assert any(f"#{decided.pk} is already approved" in m for m in messages)


def test_pending_requests_come_first_oldest_first(client, reviewer, changelist, worker_client):
    first, second, third = (escalate(worker_client, job=f"JOB-{n}") for n in (1, 2, 3))
    client.force_login(reviewer)
    run_action(client, changelist, "approve", [first], note="")

    shown = list(client.get(changelist).context["cl"].result_list)

    assert shown == [second, third, first]


def test_the_queue_shows_age_expiry_and_the_approver(client, viewer, changelist, worker_client):
    escalate(worker_client)
    client.force_login(viewer)

    page = client.get(changelist).content.decode()

    assert '<td class="field-approver_role">risk_reviewer</td>' in page
    assert '<td class="field-age">0\xa0minutes</td>' in page
    assert '<td class="field-expiry">in 23\xa0hours, 59\xa0minutes</td>' in page


def test_requests_are_never_edited_or_deleted_in_the_console(client, reviewer, worker_client):
    heal = escalate(worker_client)
    client.force_login(reviewer)

    detail = client.get(reverse("admin:repairs_selfhealrequest_change", args=[heal.pk]))
    delete = client.post(
        reverse("admin:repairs_selfhealrequest_delete", args=[heal.pk]), {"post": "yes"}
    )

    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content
    assert delete.status_code == 403
    superuser = UserFactory(is_superuser=True, is_staff=True)
    assert console_rights(superuser, heal) == {"add": False, "change": False, "delete": False}
