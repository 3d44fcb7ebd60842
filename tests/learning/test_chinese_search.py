"""Searching lessons by a Chinese word or phrase: a substring match on every backend, answered
on PostgreSQL by the pg_trgm indexes (words of three characters or more); English search
keeps its full-text matching beside it (tests/learning/test_search.py)."""

import pytest
from django.db import connection
from django.urls import reverse

from learning.models import LearningMemoryUpdate
from learning.search import SEARCH_INDEX, TRIGRAM_INDEXES, lessons_matching
from tests.factories import LearningUpdateFactory
from tests.learning.conftest import UPDATES
from tests.plans import plan_without_seq_scans

pytestmark = pytest.mark.django_db


@pytest.fixture
def lessons():
    return {
        "heal": LearningUpdateFactory(
            lesson="取得 context 失敗時先自修復：重試一次，再回報阻塞。",  # noqa: RUF001
            fix="pls retry --once",
        ),
        "upload": LearningUpdateFactory(
            lesson="上傳產出物之後才可以完成工作。", fix="pls upload 產出物/"
        ),
        "english": LearningUpdateFactory(lesson="Record the blocker and stop.", fix=""),
    }


def found(client, q: str) -> set[int]:
    response = client.get(UPDATES, {"q": q})
    assert response.status_code == 200
    return {row["id"] for row in response.json()["results"]}


def test_a_chinese_word_finds_its_lesson(worker_client, lessons):
    assert found(worker_client, "自修復") == {lessons["heal"].pk}
    assert found(worker_client, "產出物") == {lessons["upload"].pk}


def test_a_two_character_word_finds_its_lesson_too(worker_client, lessons):
    assert found(worker_client, "阻塞") == {lessons["heal"].pk}
    assert found(worker_client, "上傳") == {lessons["upload"].pk}


def test_a_phrase_needs_every_word_in_the_lesson_or_the_fix(worker_client, lessons):
    assert found(worker_client, "重試一次 回報") == {lessons["heal"].pk}
    assert found(worker_client, "重試一次 上傳") == set()
    assert found(worker_client, "產出物 upload") == {lessons["upload"].pk}


def test_english_search_keeps_working_beside_chinese_lessons(worker_client, lessons):
    assert found(worker_client, "blocker") == {lessons["english"].pk}
    assert found(worker_client, "context") == {lessons["heal"].pk}


def test_the_console_search_box_finds_a_chinese_word(client, viewer, lessons):
    client.force_login(viewer)

    page = client.get(reverse("admin:learning_learningmemoryupdate_changelist"), {"q": "自修復"})

    assert {update.pk for update in page.context["cl"].result_list} == {lessons["heal"].pk}


@pytest.mark.postgres
def test_postgres_answers_a_chinese_word_from_the_trigram_indexes(lessons):
    plan = plan_without_seq_scans(lessons_matching(LearningMemoryUpdate.objects.all(), "自修復"))

    assert all(index in plan for index in TRIGRAM_INDEXES), plan
    assert SEARCH_INDEX in plan  # and English full-text, in the same bitmap
    assert "Seq Scan" not in plan


@pytest.mark.postgres
def test_postgres_splits_chinese_into_trigrams_in_this_database():
    # pg_trgm keeps only "word" characters, per the database's LC_CTYPE: in plain C a
    # Chinese word gives no trigram, and no index could answer it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT array_length(show_trgm('自修復'), 1)")
        (trigrams,) = cursor.fetchone()

    assert trigrams == 4  # "  自", " 自修", "自修復", "修復 "


def test_the_trigram_indexes_exist_only_where_they_can(lessons):
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, "learning_memory_updates")

    assert all((name in indexes) == (connection.vendor == "postgresql") for name in TRIGRAM_INDEXES)
