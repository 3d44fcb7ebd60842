"""Records for the console and scorecard tests, written straight to the tables with the
times each test needs (the services stamp ``now``; a scorecard is about the past).
Shared by tests/dashboards, tests/test_console_roles.py and tests/browser."""

import hashlib
import itertools
from datetime import date, datetime, timedelta

from django.utils import timezone

from artifacts.models import ArtifactGateCheck
from learning.models import LearningMemoryUpdate
from repairs.models import Job, RepairEvent, SelfHealRequest, Worker
from tests.factories import JobFactory, UserFactory, WorkerFactory

_numbers = itertools.count(1)


class Fleet:
    """Writes events, requests, checks and lessons for one test, ``now`` being fixed."""

    def __init__(self) -> None:
        self.now = timezone.now()
        self.worker = WorkerFactory()
        self.person = UserFactory()

    def ago(self, **delta: float) -> datetime:
        return self.now - timedelta(**delta)

    @property
    def today(self) -> date:
        """Today on the console's calendar (``PLS_TIME_ZONE``), which the windows count in."""
        return timezone.localdate(self.now, timezone.get_default_timezone())

    @property
    def recently(self) -> datetime:
        """An hour ago, or local midnight if that was yesterday: inside every window, even
        ``days=1``, whenever the test runs."""
        midnight = timezone.localtime(self.now, timezone.get_default_timezone()).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        return max(self.ago(hours=1), midnight)

    def event(
        self,
        gate: str,
        error_class: str,
        *,
        at: datetime | None = None,
        action: str = "",
        decision: str = "",
        outcome: str = "",
        resolved_after: float | None = None,
        worker: Worker | None = None,
    ) -> RepairEvent:
        at = at or self.recently
        n = next(_numbers)
        return RepairEvent.objects.create(
            worker=worker or self.worker,
            job_ref=f"JOB-{n}",
            gate=gate,
            error_class=error_class,
            fingerprint=hashlib.sha256(f"{error_class}-{n}".encode()).hexdigest(),
            action=action,
            decision=decision,
            outcome=outcome,
            resolved_at=at + timedelta(seconds=resolved_after) if resolved_after else None,
            occurred_at=at,
        )

    def request(
        self,
        *,
        status: str = SelfHealRequest.Status.PENDING,
        created: datetime | None = None,
        latency: float | None = None,
        approver_role: str = "risk_reviewer",
        requested_by=None,
        action: str = "release",
    ) -> SelfHealRequest:
        created = created or self.recently
        event = self.event("stuck_claim", "lease_expired", at=created, action=action)
        heal = SelfHealRequest.objects.create(
            event=event,
            worker=self.worker,
            action=action,
            target=event.job_ref,
            approver_role=approver_role,
            status=status,
            requested_by=requested_by or self.worker.user,
            decided_by=None if status == "pending" else self.person,
            decided_at=created + timedelta(seconds=latency) if latency is not None else None,
            expires_at=created + timedelta(hours=24),
        )
        SelfHealRequest.objects.filter(pk=heal.pk).update(created_at=created)
        heal.refresh_from_db()
        return heal

    def check(self, status: str, *, created: datetime | None = None) -> ArtifactGateCheck:
        check = ArtifactGateCheck.objects.create(
            job=JobFactory(),
            worker=self.worker,
            primary_url="https://artifacts.example.com/report.html",
            status=status,
            finished_at=(created or self.now) if status in ("passed", "failed", "error") else None,
        )
        ArtifactGateCheck.objects.filter(pk=check.pk).update(created_at=created or self.recently)
        return check

    def lesson(self, kind: str, *, created: datetime | None = None) -> LearningMemoryUpdate:
        n = next(_numbers)
        update = LearningMemoryUpdate.objects.create(
            worker=self.worker,
            kind=kind,
            error_class="context_fetch_failed",
            lesson=f"lesson {n}",
            lesson_digest=hashlib.sha256(f"lesson {n}".encode()).hexdigest(),
        )
        LearningMemoryUpdate.objects.filter(pk=update.pk).update(
            created_at=created or self.recently
        )
        return update

    def jobs(self, count: int) -> None:
        start = next(_numbers) * 100_000
        Job.objects.bulk_create(
            Job(external_id=f"BULK-{start + n}", title=f"Bulk job {n}") for n in range(count)
        )
