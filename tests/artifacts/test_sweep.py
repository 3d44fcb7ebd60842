"""Beat's sweep asks Celery again for checks still pending (the broker was down at
submission) and for checks stuck in running (their worker was lost)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from artifacts.models import ArtifactGateCheck
from artifacts.services import artifact_checks_sweep
from tests.artifacts.test_submission import queued_check_ids

pytestmark = pytest.mark.django_db

URL = "https://artifacts.example.com/index.html"


def test_old_pending_and_stale_running_checks_are_published_again(job, submit, settings):
    settings.ARTIFACT_CHECK_REPUBLISH_SECONDS = 60
    settings.ARTIFACT_CHECK_STALE_SECONDS = 600
    now = timezone.now()
    fresh, lost, stalled, busy, done = (submit(job, URL)["id"] for _ in range(5))
    ArtifactGateCheck.objects.filter(pk=lost).update(created_at=now - timedelta(minutes=5))
    ArtifactGateCheck.objects.filter(pk=stalled).update(
        status="running", started_at=now - timedelta(minutes=30)
    )
    ArtifactGateCheck.objects.filter(pk=busy).update(
        status="running", started_at=now - timedelta(minutes=1)
    )
    ArtifactGateCheck.objects.filter(pk=done).update(
        status="failed", created_at=now - timedelta(hours=1)
    )
    queued_check_ids()  # empty the queue: submissions in a test never commit

    assert artifact_checks_sweep() == 2
    assert sorted(queued_check_ids()) == sorted([lost, stalled])
    assert fresh not in queued_check_ids()
