import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model

from core.audit import channel_of, message_of


def entries_for(obj: Model) -> list[tuple[str, str, str]]:
    """The audit entries of ``obj``, oldest first: (person, channel, message)."""
    rows = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk)
    ).order_by("pk")
    return [(row.user.get_username(), channel_of(row), message_of(row)) for row in rows]


@pytest.fixture
def audited():
    return entries_for
