"""Searching lessons: full-text on PostgreSQL (stemmed, answered by the GIN index), words as
substrings on SQLite; the API's ?q= and the console's search box use the same search."""

import pytest
from django.db import connection
from django.urls import reverse

from learning.models import LearningMemoryUpdate
from learning.search import SEARCH_INDEX, lessons_matching
from tests.factories import LearningUpdateFactory
from tests.learning.conftest import UPDATES
from tests.plans import plan_without_seq_scans

pytestmark = pytest.mark.django_db


@pytest.fixture
def lessons():
    return {
        "retry": LearningUpdateFactory(
            lesson="Retry the context fetch once after the API recovers.", fix="sleep 30"
        ),
        "upload": LearningUpdateFactory(
            lesson="Upload the artifact before completing.", fix="pls upload --retrying dist/"
        ),
        "blocker": LearningUpdateFactory(lesson="Record the blocker and stop.", fix=""),
    }


def found(client, q: str) -> set[int]:
    response = client.get(UPDATES, {"q": q})
    assert response.status_code == 200
    return {row["id"] for row in response.json()["results"]}


def test_search_finds_a_word_of_the_lesson_or_of_the_fix(worker_client, lessons):
    assert found(worker_client, "context") == {lessons["retry"].pk}
    assert found(worker_client, "upload") == {lessons["upload"].pk}
    assert found(worker_client, "sleep") == {lessons["retry"].pk}


def test_search_needs_every_word_and_ignores_case(worker_client, lessons):
    assert found(worker_client, "RECORD blocker") == {lessons["blocker"].pk}
    assert found(worker_client, "record upload") == set()


def test_search_finds_retry_in_retrying_on_either_backend(worker_client, lessons):
    assert found(worker_client, "retry") == {lessons["retry"].pk, lessons["upload"].pk}


def test_a_blank_search_filters_nothing(worker_client, lessons):
    assert found(worker_client, "  ") == {lesson.pk for lesson in lessons.values()}


def test_search_combines_with_the_other_filters(worker_client, lessons):
    LearningMemoryUpdate.objects.filter(pk=lessons["upload"].pk).update(review="accepted")

    response = worker_client.get(UPDATES, {"q": "retry", "review": "accepted"})

    assert [row["id"] for row in response.json()["results"]] == [lessons["upload"].pk]


@pytest.mark.postgres
def test_postgres_search_is_stemmed_so_retrying_finds_retry(worker_client, lessons):
    assert lessons["retry"].pk in found(worker_client, "retrying")
    assert found(worker_client, "recovered") == {lessons["retry"].pk}


@pytest.mark.postgres
def test_postgres_search_takes_web_search_syntax(worker_client, lessons):
    assert found(worker_client, "retry -upload") == {lessons["retry"].pk}
    assert found(worker_client, '"record the blocker"') == {lessons["blocker"].pk}


@pytest.mark.postgres
def test_postgres_search_is_answered_by_the_gin_index(lessons):
    plan = plan_without_seq_scans(
        lessons_matching(LearningMemoryUpdate.objects.all(), "retrying fetch")
    )

    assert SEARCH_INDEX in plan
    assert "Seq Scan" not in plan


def test_the_search_index_exists_only_where_it_can(lessons):
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, "learning_memory_updates")

    assert (SEARCH_INDEX in indexes) == (connection.vendor == "postgresql")


def test_the_console_search_box_uses_the_same_search(client, viewer, lessons):
    client.force_login(viewer)

    response = client.get(reverse("admin:learning_learningmemoryupdate_changelist"), {"q": "retry"})

    shown = {update.pk for update in response.context["cl"].result_list}
    assert shown == {lessons["retry"].pk, lessons["upload"].pk}
