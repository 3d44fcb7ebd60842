"""``SelfHealRequest.may_be_decided_by``: the four-eyes and role rule that the service, the API,
the console's actions and the home's buttons all ask."""

import pytest
from django.contrib.auth.models import Group

from core.roles import roles_of
from repairs.models import SelfHealRequest
from tests.factories import UserFactory, WorkerFactory, event_body

EVENTS = "/api/v1/worker-repair-events"

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_for_reviewer(worker_client) -> SelfHealRequest:
    body = worker_client.post(EVENTS, event_body(action="release"), format="json").json()
    request = SelfHealRequest.objects.get(pk=body["self_heal_request"])
    assert request.approver_role == "risk_reviewer"
    return request


def test_the_role_the_policy_named_may_decide(request_for_reviewer, reviewer):
    assert request_for_reviewer.may_be_decided_by(reviewer)
    assert request_for_reviewer.refusal_for(reviewer) == ""


def test_another_role_may_not(request_for_reviewer, viewer, owner):
    assert not request_for_reviewer.may_be_decided_by(viewer)
    assert not request_for_reviewer.may_be_decided_by(owner)
    assert request_for_reviewer.refusal_for(owner) == (
        "Only the risk_reviewer role decides this request."
    )


def test_a_superuser_holds_the_role_but_never_decides_their_own_request(request_for_reviewer):
    superuser = UserFactory(is_superuser=True)
    assert request_for_reviewer.may_be_decided_by(superuser)

    SelfHealRequest.objects.filter(pk=request_for_reviewer.pk).update(requested_by=superuser)
    request_for_reviewer.refresh_from_db()

    assert not request_for_reviewer.may_be_decided_by(superuser)
    assert "own request" in request_for_reviewer.refusal_for(superuser)


def test_a_worker_never_decides_even_in_the_approving_role(request_for_reviewer):
    other = WorkerFactory()
    other.user.groups.add(Group.objects.get(name="risk_reviewer"))

    assert not request_for_reviewer.may_be_decided_by(other.user)
    assert "Workers approve nothing" in request_for_reviewer.refusal_for(other.user)


def test_roles_read_once_give_the_same_answer_as_asking_per_request(
    request_for_reviewer, reviewer, viewer, owner
):
    for person in (reviewer, viewer, owner, UserFactory(is_superuser=True)):
        assert request_for_reviewer.may_be_decided_by(
            person, roles=roles_of(person)
        ) == request_for_reviewer.may_be_decided_by(person)


def test_an_inactive_person_in_the_role_may_not_decide(request_for_reviewer, reviewer):
    reviewer.is_active = False
    reviewer.save(update_fields=["is_active"])

    assert not request_for_reviewer.may_be_decided_by(reviewer)
    assert not request_for_reviewer.may_be_decided_by(reviewer, roles=roles_of(reviewer))
