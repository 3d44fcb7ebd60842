"""Searching repair events by a Chinese word or phrase, in the console and the API: a
substring of the error class, job or message on every backend, answered on PostgreSQL by
the pg_trgm index of repairs.search (words of three characters or more); a fingerprint is
found whole."""

import hashlib

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from repairs.models import RepairEvent
from repairs.search import SEARCH_INDEX, events_matching
from tests.factories import WorkerFactory
from tests.plans import plan_without_seq_scans

pytestmark = pytest.mark.django_db


def _event(message: str, *, error_class: str = "context_fetch_failed", job_ref: str = "JOB-1"):
    return RepairEvent.objects.create(
        worker=WorkerFactory(),
        job_ref=job_ref,
        gate="stuck_claim",
        error_class=error_class,
        fingerprint=hashlib.sha256(message.encode()).hexdigest(),
        message=message,
        occurred_at=timezone.now(),
    )


@pytest.fixture
def events():
    return {
        "heal": _event("取得 context 失敗，自修復重試一次後成功"),  # noqa: RUF001
        "upload": _event("上傳產出物失敗", error_class="upload_failed", job_ref="ART-7"),
        "english": _event("Lease expired while fetching the context"),
    }


def _found(q: str) -> set[int]:
    return set(events_matching(RepairEvent.objects.all(), q).values_list("pk", flat=True))


def test_a_chinese_word_finds_its_event_in_the_console(client, viewer, events):
    client.force_login(viewer)

    for word in ("自修復", "重試"):
        page = client.get(reverse("admin:repairs_repairevent_changelist"), {"q": word})
        assert [event.pk for event in page.context["cl"].result_list] == [events["heal"].pk]


def test_every_word_must_match_in_any_of_class_job_and_message(events):
    assert _found("自修復 CONTEXT") == {events["heal"].pk}
    assert _found("context") == {events["heal"].pk, events["english"].pk}  # any case
    assert _found("upload 產出物") == {events["upload"].pk}  # a class word and a message word
    assert _found("art-7") == {events["upload"].pk}  # the job
    assert _found("自修復 upload") == set()
    assert _found("  ") == {event.pk for event in events.values()}


def test_a_whole_fingerprint_finds_its_event(events):
    fingerprint = events["upload"].fingerprint

    assert _found(fingerprint.upper()) == {events["upload"].pk}
    assert _found(fingerprint[:12]) == set()  # looked up whole, not as a fragment


def test_the_api_searches_with_q(session_client, viewer, events):
    answer = session_client(viewer).get("/api/v1/worker-repair-events", {"q": "產出物 失敗"})

    assert answer.status_code == 200
    assert [row["id"] for row in answer.json()["results"]] == [events["upload"].pk]


def test_a_worker_searches_only_its_own_events(worker_client, worker, events):
    mine = _event("自修復之後仍然阻塞")
    mine.worker = worker
    mine.save()

    answer = worker_client.get("/api/v1/worker-repair-events", {"q": "自修復"})

    assert [row["id"] for row in answer.json()["results"]] == [mine.pk]


@pytest.mark.postgres
def test_postgres_answers_a_chinese_word_from_the_trigram_index(events):
    # Unordered: the filter is what the index answers (ordered by id, a page of a large
    # table may rightly be read along the primary key instead).
    plan = plan_without_seq_scans(events_matching(RepairEvent.objects.order_by(), "自修復"))

    assert SEARCH_INDEX in plan, plan
    assert "repair_event_fp_time" in plan  # the fingerprint, in the same bitmap
    assert "Seq Scan" not in plan


def test_the_trigram_index_exists_only_where_it_can(events):
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, "worker_repair_events")

    assert (SEARCH_INDEX in indexes) == (connection.vendor == "postgresql")
