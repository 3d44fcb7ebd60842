import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from rest_framework.test import APIClient

from core.roles import OPS_VIEWER, PLS_OWNER, RISK_REVIEWER, ROLES, WORKER
from tests.factories import UserFactory, WorkerFactory, event_body, issue_token

EVENTS = "/api/v1/worker-repair-events"


def test_the_four_roles_exist_as_groups(db):
    assert set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True)) == set(ROLES)


@pytest.mark.parametrize(
    ("role", "granted", "withheld"),
    [
        (WORKER, ["repairs.add_repairevent", "repairs.view_repairevent"], ["repairs.add_worker"]),
        (
            PLS_OWNER,
            ["repairs.add_worker", "repairs.change_workertoken"],
            ["repairs.add_repairevent"],
        ),
        (RISK_REVIEWER, ["repairs.view_repairevent"], ["repairs.change_worker"]),
        (OPS_VIEWER, ["repairs.view_repairevent", "repairs.view_worker"], ["repairs.change_job"]),
    ],
)
def test_role_permissions(db, role, granted, withheld):
    user = UserFactory()
    user.groups.add(Group.objects.get(name=role))

    for perm in granted:
        assert user.has_perm(perm), perm
    for perm in withheld:
        assert not user.has_perm(perm), perm


def test_a_viewer_session_reads_events(viewer, worker_client, session_client):
    worker_client.post(EVENTS, event_body(), format="json")

    response = session_client(viewer).get(EVENTS)

    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


def test_a_person_cannot_report_events(owner, session_client):
    response = session_client(owner).post(EVENTS, event_body(), format="json")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


def test_an_account_with_no_role_reads_nothing(db, session_client):
    response = session_client(UserFactory()).get(EVENTS)

    assert response.status_code == 403


def test_a_worker_reads_only_its_own_events(worker_client):
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(WorkerFactory())}")
    other.post(EVENTS, event_body(message="theirs"), format="json")
    worker_client.post(EVENTS, event_body(message="mine"), format="json")

    messages = [e["message"] for e in worker_client.get(EVENTS).json()["results"]]

    assert messages == ["mine"]


def test_create_worker_prints_a_working_token_as_its_last_line(db, capsys):
    call_command("create_worker", "claude-9", "--team", "beta")
    token = capsys.readouterr().out.strip().splitlines()[-1]

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.post(EVENTS, event_body(), format="json")

    assert response.status_code == 201
    assert response.json()["worker"] == "claude-9"


def test_a_new_worker_acts_in_the_worker_group(worker):
    assert list(worker.user.groups.values_list("name", flat=True)) == [WORKER]
    assert not worker.user.has_usable_password()
