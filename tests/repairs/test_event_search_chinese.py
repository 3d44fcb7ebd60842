"""The console's event list finds an event by a Chinese word of its message, on PostgreSQL
and on SQLite (a substring match; see README "Search" for why the events table has no
trigram index)."""

import hashlib

import pytest
from django.urls import reverse
from django.utils import timezone

from repairs.models import RepairEvent
from tests.factories import WorkerFactory

pytestmark = pytest.mark.django_db


def _event(message: str) -> RepairEvent:
    return RepairEvent.objects.create(
        worker=WorkerFactory(),
        job_ref="JOB-1",
        gate="stuck_claim",
        error_class="context_fetch_failed",
        fingerprint=hashlib.sha256(message.encode()).hexdigest(),
        message=message,
        occurred_at=timezone.now(),
    )


def test_a_chinese_word_finds_its_event_in_the_console(client, viewer):
    wanted = _event("取得 context 失敗，自修復重試一次後成功")  # noqa: RUF001
    _event("上傳產出物失敗")
    client.force_login(viewer)

    for word in ("自修復", "重試"):
        page = client.get(reverse("admin:repairs_repairevent_changelist"), {"q": word})
        assert [event.pk for event in page.context["cl"].result_list] == [wanted.pk], word
