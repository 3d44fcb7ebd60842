"""An audit entry is stored as what it says (a msgid and its parameters), so each reader
reads it in their own language; an entry written before that keeps its English text."""

# ruff: noqa: RUF001  (the Chinese sentences' full-width punctuation is the right one)
import json
import re

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils import translation

from core.audit import message_of, written_in_english
from repairs.services import worker_pause, worker_resume

pytestmark = pytest.mark.django_db


def test_a_pause_and_a_resume_read_in_chinese_and_in_english(owner, worker):
    worker_pause(worker=worker, by=owner, reason="換金鑰")
    worker_resume(worker=worker, by=owner)
    paused, resumed = LogEntry.objects.filter(object_id=str(worker.pk)).order_by("pk")

    with translation.override("zh-hant"):
        assert message_of(paused) == "已暫停：換金鑰"
        assert message_of(resumed) == "已恢復（閒置）。"
    with translation.override("en"):
        assert message_of(paused) == "Paused: 換金鑰"
        assert message_of(resumed) == "Resumed (Idle)."
    # Stored once, in no language: the msgid and the parameters after the channel.
    stored = json.loads(re.sub(r"^\[\w+\] ", "", resumed.change_message))
    assert stored == {
        "msgid": "Resumed (%(status)s).",
        "params": {"status": {"msgid": "Idle", "params": {}}},
    }


def test_an_entry_written_as_english_text_is_shown_as_written(owner, worker):
    entry = LogEntry.objects.create(
        user=owner,
        content_type=ContentType.objects.get_for_model(worker),
        object_id=str(worker.pk),
        object_repr=str(worker),
        action_flag=CHANGE,
        change_message="[console] Paused: keys",
    )

    with translation.override("zh-hant"):
        assert message_of(entry) == "Paused: keys"
    assert written_in_english(entry)
