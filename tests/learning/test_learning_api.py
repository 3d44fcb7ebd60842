"""POST /api/v1/learning-memory-updates from workers, and the list everyone with the view
right reads (a worker: its own team's and the fleet-wide lessons)."""

import pytest

from learning.models import LearningMemoryUpdate
from tests.factories import LearningUpdateFactory, UserFactory, event_body
from tests.learning.conftest import EVENTS, UPDATES, lesson_body

pytestmark = pytest.mark.django_db


def test_a_worker_reports_a_lesson_and_gets_it_back_with_its_occurrences(worker, worker_client):
    event = worker_client.post(EVENTS, event_body(), format="json").json()

    response = worker_client.post(UPDATES, lesson_body(event=event["id"]), format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["occurrences"] == 1
    assert body["team"] == worker.team
    assert body["worker"] == worker.name
    assert body["event"] == event["id"]
    assert body["review"] == "pending"
    assert body["next_round_priority"] == 2


def test_priority_and_fix_are_optional(worker_client, settings):
    settings.PLS_LEARNING_DEFAULT_PRIORITY = 4
    body = lesson_body()
    del body["next_round_priority"], body["fix"]

    response = worker_client.post(UPDATES, body, format="json")

    assert response.status_code == 201
    assert (response.json()["next_round_priority"], response.json()["fix"]) == (4, "")


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"next_round_priority": 0}, "#/next_round_priority"),
        ({"next_round_priority": 6}, "#/next_round_priority"),
        ({"kind": "gossip"}, "#/kind"),
        ({"error_class": "not a slug"}, "#/error_class"),
        ({"lesson": ""}, "#/lesson"),
        ({"lesson": "x" * 4001}, "#/lesson"),
        ({"event": "first"}, "#/event"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(worker_client, change, pointer):
    response = worker_client.post(UPDATES, lesson_body(**change), format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert [error["pointer"] for error in response.json()["errors"]] == [pointer]
    assert not LearningMemoryUpdate.objects.exists()


def test_the_event_must_be_one_of_the_workers_own(worker_client, beta_client):
    event = worker_client.post(EVENTS, event_body(), format="json").json()

    response = beta_client.post(UPDATES, lesson_body(event=event["id"]), format="json")
    missing = beta_client.post(UPDATES, lesson_body(event=999_999), format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/event"
    assert missing.status_code == 400
    assert not LearningMemoryUpdate.objects.exists()


def test_people_do_not_report_lessons(session_client, owner):
    response = session_client(owner).post(UPDATES, lesson_body(), format="json")

    assert response.status_code == 403


def test_a_worker_lists_its_teams_and_the_fleets_lessons_only(worker_client):
    own = LearningUpdateFactory(team="alpha")
    fleet = LearningUpdateFactory(team="")
    LearningUpdateFactory(team="beta")

    response = worker_client.get(UPDATES)

    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} == {own.pk, fleet.pk}


def test_a_worker_cannot_read_another_teams_lesson(worker_client):
    other = LearningUpdateFactory(team="beta")

    assert worker_client.get(f"{UPDATES}/{other.pk}").status_code == 404


def test_people_with_the_view_right_list_and_filter_every_lesson(session_client, viewer):
    alpha = LearningUpdateFactory(team="alpha", review="accepted")
    beta = LearningUpdateFactory(team="beta", kind="policy_friction", error_class="approval_wait")
    client = session_client(viewer)

    every = client.get(UPDATES).json()["results"]
    friction = client.get(UPDATES, {"kind": "policy_friction"}).json()["results"]
    accepted = client.get(UPDATES, {"review": "accepted", "team": "alpha"}).json()["results"]

    assert [row["id"] for row in every] == [beta.pk, alpha.pk]  # newest first
    assert [row["id"] for row in friction] == [beta.pk]
    assert [row["id"] for row in accepted] == [alpha.pk]


def test_an_account_outside_every_role_reads_no_lessons(session_client):
    LearningUpdateFactory()

    assert session_client(UserFactory()).get(UPDATES).status_code == 403
