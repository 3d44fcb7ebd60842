"""An owner report exists exactly when the change that raised it exists."""

import pytest
from django.contrib.auth.models import Group
from django.db import transaction

from notifications import services
from notifications.models import OwnerReport
from notifications.services import report_enqueue


@pytest.fixture
def drain_requests(monkeypatch) -> list[list[int]]:
    """Records the drain requests sent after commit (and still sends them)."""
    calls: list[list[int]] = []
    real = services.request_drain

    def record(channel_ids, **kwargs):
        calls.append(list(channel_ids))
        return real(channel_ids, **kwargs)

    monkeypatch.setattr(services, "request_drain", record)
    return calls


class BusinessFailure(Exception):
    pass


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_report_commits_with_the_change_and_the_drain_is_asked_after_commit(
    make_channel, drain_requests
):
    channel = make_channel("ops")

    with transaction.atomic():
        Group.objects.create(name="escalations")
        report_enqueue(source="proposal.created", title="Proposal 7 needs a decision")
        assert drain_requests == []  # nothing leaves before the commit

    assert Group.objects.filter(name="escalations").exists()
    report = OwnerReport.objects.get()
    assert (report.channel, report.state, report.source) == (channel, "pending", "proposal.created")
    assert drain_requests == [[channel.pk]]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_report_rolls_back_with_the_change_and_no_drain_is_asked(make_channel, drain_requests):
    make_channel("ops")

    with pytest.raises(BusinessFailure), transaction.atomic():
        Group.objects.create(name="escalations")
        report_enqueue(source="proposal.created", title="Proposal 7 needs a decision")
        raise BusinessFailure

    assert not Group.objects.filter(name="escalations").exists()
    assert not OwnerReport.objects.exists()
    assert drain_requests == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_reports_raised_in_one_transaction_ask_once_per_commit(make_channel, drain_requests):
    channel = make_channel("ops")

    with transaction.atomic():
        for index in range(3):
            report_enqueue(source="worker.error", title=f"worker error {index}")

    assert OwnerReport.objects.count() == 3
    assert drain_requests == [[channel.pk]]
