"""Drill: the notification provider fails for a while (answers 503), then recovers.

A real Celery worker and beat drain the outbox with a short backoff. While the provider
fails, the drain keeps retrying the oldest report only: nothing is archived, nothing newer
is tried. Once the provider answers again, every report is delivered exactly once (each
accepted once, none archived before its acceptance), oldest first.
"""

import time

import pytest
from django.db import transaction

from notifications.models import OwnerReport
from notifications.services import report_enqueue
from tests.factories import ChannelFactory
from tests.faults.conftest import drill
from tests.processes import wait_until

pytestmark = [
    *drill(),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

REPORTS = 7  # more than one drain run's maximum (PLS_NOTIFY_MAX_COUNT, 5)


def states(channel) -> list[str]:
    return list(
        OwnerReport.objects.filter(channel=channel).order_by("pk").values_list("state", flat=True)
    )


def test_reports_are_held_in_order_while_the_provider_fails_and_sent_once_after(
    publishing_to, spawn, sink
):
    channel = ChannelFactory(url=sink.url)
    spawn.celery(
        broker_url=publishing_to.url,
        beat=True,
        env={
            "PLS_NOTIFY_SWEEP_SECONDS": "1",
            "PLS_NOTIFY_BACKOFF_BASE_SECONDS": "1",
            "PLS_NOTIFY_BACKOFF_MAX_SECONDS": "1",
            "PLS_HTTP_CONNECT_TIMEOUT": "1",
            "PLS_HTTP_READ_TIMEOUT": "2",
        },
    )
    sink.failing = True

    reports = []
    for n in range(REPORTS):
        with transaction.atomic():  # one business change each, as requests make them
            reports += report_enqueue(source="drill.report", title=f"report {n}", status="warning")
    ids = [report.pk for report in reports]

    # The provider refuses: the drain retries (with backoff), the oldest report only.
    wait_until(lambda: len(sink.attempts) >= 3, 30, "three delivery attempts to the failing sink")
    assert {report_id for report_id, _ in sink.attempts} == {ids[0]}
    assert states(channel) == ["pending"] * REPORTS
    failed_attempts = len(sink.attempts)

    sink.failing = False
    recovered_at = time.monotonic()
    wait_until(lambda: states(channel) == ["sent"] * REPORTS, 30, "every report to be sent")
    print(
        f"{failed_attempts} refused attempts of report {ids[0]}; all {REPORTS} reports sent "
        f"{time.monotonic() - recovered_at:.1f} s after the sink recovered"
    )
    time.sleep(1.5)  # a few more sweeps: nothing may be sent again

    assert sink.accepted == ids
    assert sink.overtakes(ids) == []
    assert len(sink.attempts) == failed_attempts + REPORTS
