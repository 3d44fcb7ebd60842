import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from core.roles import OPS_VIEWER, PLS_OWNER, RISK_REVIEWER
from learning.models import LearningMemoryUpdate
from learning.services import learning_update_record
from policies.models import Proposal
from repairs.models import Job, RepairEvent, Worker, WorkerToken
from repairs.services import (
    repair_event_report,
    worker_register,
    worker_token_issue,
    worker_token_revoke,
)

PEOPLE = [("owner", PLS_OWNER), ("reviewer", RISK_REVIEWER), ("viewer", OPS_VIEWER)]
WORKERS = [
    ("codex-demo", "alpha", Worker.Kind.CODEX),
    ("claude-demo", "alpha", Worker.Kind.CLAUDE_CODE),
]
JOBS = [
    ("DEMO-1", "Fix the flaky checkout test", Job.Priority.HIGH),
    ("DEMO-2", "Upgrade the payment SDK", Job.Priority.MEDIUM),
    ("DEMO-3", "Write the release notes", Job.Priority.LOW),
    ("DEMO-4", "Migrate CI to the new runners", Job.Priority.HIGH),
]
SEED_TOKEN_LABEL = "seed_demo"
# The console's users write Traditional Chinese; the workers mostly English. The demo has both.
LESSONS = [
    (
        "claude-demo",
        "context_fetch_failed",
        "context 端點回 503 時，先等 30 秒再重試一次；"
        "連續兩次失敗就回報 stuck_claim，不要自行改寫任務。",
        "retry",
    ),
    (
        "codex-demo",
        "lease_expired",
        "Send a heartbeat at least every 5 minutes during long test runs; "
        "a lease expires after 15.",
        "touch",
    ),
]
QUESTION = (
    "demo_pause_on_repeat",
    "同一個錯誤類別在一天內重複三次時，是否應自動暫停該工作者？",
    "暫停可以避免重複消耗預算，但也會阻塞手上的工作。請負責人決定：採用（自動暫停）或駁回。",
)


class Command(BaseCommand):
    help = (
        "Loads demo data: an owner, a risk reviewer, a viewer, two workers with fresh tokens, "
        "jobs and events. Safe to run again: people get new passwords, workers new tokens."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="console URL to print")
        parser.add_argument(
            "--password", default="", help="password for the demo people (default: random)"
        )

    @transaction.atomic
    def handle(self, *args: object, **options: object) -> None:
        password = str(options["password"]) or secrets.token_urlsafe(9)
        for username, role in PEOPLE:
            person, _ = get_user_model().objects.get_or_create(
                username=username, defaults={"is_staff": True}
            )
            person.set_password(password)
            person.save()
            person.groups.add(Group.objects.get(name=role))

        tokens = []
        for name, team, kind in WORKERS:
            worker = Worker.objects.filter(name=name).first() or worker_register(
                Worker(name=name, team=team, kind=kind, monthly_budget_cents=10_000)
            )
            for stale in WorkerToken.objects.filter(worker=worker, label=SEED_TOKEN_LABEL):
                worker_token_revoke(token=stale)
            tokens.append((name, worker_token_issue(worker=worker, label=SEED_TOKEN_LABEL)[1]))

        for external_id, title, priority in JOBS:
            Job.objects.get_or_create(
                external_id=external_id, defaults={"title": title, "priority": priority}
            )
        if not RepairEvent.objects.exists():
            self._report_demo_events()
            self._record_demo_lessons()
        key, title, detail = QUESTION
        Proposal.objects.get_or_create(
            kind=Proposal.Kind.POLICY_QUESTION,
            question_key=key,
            defaults={"title": title, "detail": detail},
        )

        self.stdout.write(f"Console: {options['url']}admin/")
        self.stdout.write("Demo logins (user / password / role):")
        for username, role in PEOPLE:
            self.stdout.write(f"  {username:<9} {password}  {role}")
        self.stdout.write("Worker tokens (new on every run; earlier demo tokens are revoked):")
        for name, raw in tokens:
            self.stdout.write(f"  {name:<12} {raw}")

    def _report_demo_events(self) -> None:
        codex = Worker.objects.get(name="codex-demo")
        claude = Worker.objects.get(name="claude-demo")
        now = timezone.now()
        demo = [
            (
                codex,
                "stuck_claim",
                "context_fetch_failed",
                "DEMO-1",
                "retry",
                "GET /jobs/DEMO-1/context failed: 503",
                "curl: (22) returned error: 503",
            ),
            (
                claude,
                "stuck_claim",
                "context_fetch_failed",
                "DEMO-4",
                "retry",
                "GET /jobs/DEMO-4/context failed: 503",
                "curl: (22) returned error: 503",
            ),
            (
                codex,
                "stuck_claim",
                "lease_expired",
                "DEMO-2",
                "release",
                "lease expired after 900 s without heartbeat",
                "last progress: running tests",
            ),
            (
                claude,
                "artifact_guard",
                "primary_url_404",
                "DEMO-3",
                "",
                "primary artifact answered 404",
                "HEAD https://example.com/notes -> 404",
            ),
            (
                codex,
                "friction",
                "approval_wait_too_long",
                "",
                "report_friction",
                "waited 6 h for a release approval",
                "",
            ),
            (
                claude,
                "friction",
                "approval_wait_too_long",
                "DEMO-2",
                "report_friction",
                "等待釋出核准超過 6 小時，DEMO-2 因此阻塞",
                "",
            ),
        ]
        for minutes_ago, (worker, gate, error_class, job, action, message, evidence) in enumerate(
            reversed(demo)
        ):
            repair_event_report(
                worker=worker,
                gate=gate,
                error_class=error_class,
                job_ref=job,
                action=action,
                message=message,
                evidence=evidence,
                occurred_at=now - timedelta(minutes=10 * minutes_ago),
            )

    def _record_demo_lessons(self) -> None:
        for name, error_class, lesson, fix in LESSONS:
            learning_update_record(
                worker=Worker.objects.get(name=name),
                kind=LearningMemoryUpdate.Kind.REPAIR_LESSON,
                error_class=error_class,
                lesson=lesson,
                fix=fix,
            )
