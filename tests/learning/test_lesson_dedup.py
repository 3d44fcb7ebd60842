"""The same lesson for the same team, kind and error class is one row whose occurrences grow:
case, spacing and numbers do not make a lesson new."""

import threading

import pytest
from django.db import connection

from learning.models import LearningMemoryUpdate
from learning.services import learning_update_record
from tests.factories import WorkerFactory
from tests.learning.conftest import UPDATES, client_for, lesson_body

pytestmark = pytest.mark.django_db


def test_the_same_lesson_in_other_case_spacing_and_numbers_is_counted_not_added(worker_client):
    first = worker_client.post(
        UPDATES, lesson_body(lesson="Retry the context fetch once after 30 seconds."), format="json"
    )
    again = worker_client.post(
        UPDATES,
        lesson_body(lesson="  retry THE context   fetch once after 45\nseconds. "),
        format="json",
    )

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["occurrences"] == 2
    row = LearningMemoryUpdate.objects.get()
    assert row.occurrences == 2
    assert row.lesson == "Retry the context fetch once after 30 seconds."  # the first wording
    assert row.last_seen_at > row.created_at


def test_another_worker_of_the_same_team_counts_the_same_lesson(worker, worker_client):
    teammate = client_for(WorkerFactory(team=worker.team))

    worker_client.post(UPDATES, lesson_body(), format="json")
    response = teammate.post(UPDATES, lesson_body(), format="json")

    assert response.status_code == 200
    assert response.json()["occurrences"] == 2
    assert response.json()["worker"] == worker.name  # who reported it first


def test_another_team_kind_or_error_class_makes_its_own_lesson(worker_client, beta_client):
    worker_client.post(UPDATES, lesson_body(), format="json")
    beta_client.post(UPDATES, lesson_body(), format="json")
    worker_client.post(UPDATES, lesson_body(kind="blocking_signal"), format="json")
    worker_client.post(UPDATES, lesson_body(error_class="complete_fetch_failed"), format="json")

    assert LearningMemoryUpdate.objects.count() == 4
    assert set(LearningMemoryUpdate.objects.values_list("occurrences", flat=True)) == {1}


def test_a_repeat_keeps_the_more_urgent_priority_and_fills_a_missing_fix(worker_client):
    worker_client.post(UPDATES, lesson_body(next_round_priority=4, fix=""), format="json")
    worker_client.post(UPDATES, lesson_body(next_round_priority=1, fix="retry once"), format="json")
    last = worker_client.post(
        UPDATES, lesson_body(next_round_priority=5, fix="something else"), format="json"
    ).json()

    assert last["occurrences"] == 3
    assert last["next_round_priority"] == 1
    assert last["fix"] == "retry once"


def test_a_repeat_keeps_the_review_a_person_gave(worker_client, owner):
    first = worker_client.post(UPDATES, lesson_body(), format="json").json()
    LearningMemoryUpdate.objects.filter(pk=first["id"]).update(review="accepted")

    again = worker_client.post(UPDATES, lesson_body(), format="json").json()

    assert again["review"] == "accepted"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_reports_of_one_lesson_make_one_row_that_counts_every_report():
    worker = WorkerFactory()
    reporters = 8
    start = threading.Barrier(reporters)
    created: list[bool] = []
    errors: list[BaseException] = []

    def report(n: int) -> None:
        try:
            start.wait()
            learned = learning_update_record(
                worker=worker,
                kind="repair_lesson",
                error_class="context_fetch_failed",
                lesson=f"Retry the context fetch once after {n} seconds",
                fix="retry",
                next_round_priority=1 + n % 5,
            )
            created.append(learned.created)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=report, args=(n,)) for n in range(reporters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    row = LearningMemoryUpdate.objects.get()
    assert row.occurrences == reporters
    assert row.next_round_priority == 1
    assert sorted(created) == [False] * (reporters - 1) + [True]
