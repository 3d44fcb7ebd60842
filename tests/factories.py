import factory
from django.contrib.auth import get_user_model

from policies.models import WorkerPolicy
from policies.selectors import policy_current
from policies.services import policy_change
from repairs.models import Job, Worker
from repairs.services import worker_register, worker_token_issue


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person-{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


class WorkerFactory(factory.Factory):
    """Workers are created through the service, so each gets its user in group ``worker``."""

    class Meta:
        model = Worker

    name = factory.Sequence(lambda n: f"codex-{n}")
    team = "alpha"
    kind = Worker.Kind.CODEX

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return worker_register(model_class(*args, **kwargs))


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job

    external_id = factory.Sequence(lambda n: f"JOB-{n}")
    title = factory.Sequence(lambda n: f"Fix flaky build {n}")


def issue_token(worker: Worker) -> str:
    return worker_token_issue(worker=worker, label="test")[1]


def event_body(**overrides) -> dict:
    body = {
        "gate": "stuck_claim",
        "error_class": "context_fetch_failed",
        "job": "JOB-1",
        "phase": "context",
        "action": "retry",
        "message": "fetch of job 1234 failed with 503",
        "evidence": "curl: (22) The requested URL returned error: 503",
    }
    body.update(overrides)
    return body


def policy_set(**changes) -> WorkerPolicy:
    """Makes the next policy version with ``changes``, as an owner would."""
    owner = UserFactory(is_superuser=True)
    decision = policy_change(
        policy=policy_current(), changes=changes, rationale="test setup", user=owner
    )
    return WorkerPolicy.objects.get(pk=decision.policy_after_id)


# --- Owner notifications ---------------------------------------------------------------------


class ChannelFactory(factory.django.DjangoModelFactory):
    """A generic-webhook channel by default; point ``url`` at a local test server."""

    class Meta:
        model = "notifications.Channel"

    name = factory.Sequence(lambda n: f"channel-{n}")
    kind = "webhook"
    url = factory.Sequence(lambda n: f"http://127.0.0.1:9/hook-{n}")
    signing_secret = factory.Sequence(lambda n: f"hmac-secret-{n}-do-not-leak")


# --- Jobs, claims and budgets ------------------------------------------------------------------


def client_for(worker: Worker):
    """An API client acting as ``worker`` with a fresh token."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(worker)}")
    return client


def job_claimed_by(worker: Worker, *, lease_expired: bool = False, **fields) -> Job:
    """A job ``worker`` holds; with ``lease_expired`` its lease ran out a minute ago."""
    from datetime import timedelta

    from django.utils import timezone

    from repairs.services import job_claim

    job = JobFactory(**fields)
    job_claim(worker=worker, external_id=job.external_id)
    if lease_expired:
        Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(minutes=1))
    job.refresh_from_db()
    return job


# --- Artifact gate checks ----------------------------------------------------------------------


def held_job(worker: Worker, **fields) -> Job:
    """A job ``worker`` has claimed, through the jobs service as a worker's claim does."""
    from repairs.services.jobs import job_claim

    job = JobFactory(**fields)
    return job_claim(worker=worker, external_id=job.external_id)


def artifact_check_body(job: Job, primary_url: str, *uploads: dict) -> dict:
    """The body a worker POSTs to /api/v1/artifact-gate-checks."""
    return {"job": job.external_id, "primary_url": primary_url, "upload_files": list(uploads)}


# --- Learning memory ---------------------------------------------------------------------------


def _letters(n: int) -> str:
    """``n`` spelled in letters: lessons differ by words, since digits are masked in the
    lesson digest and "lesson 1" and "lesson 2" would be the same lesson."""
    word = ""
    while True:
        n, rest = divmod(n, 26)
        word = chr(ord("a") + rest) + word
        if not n:
            return word


class LearningUpdateFactory(factory.django.DjangoModelFactory):
    """A lesson as it stands in the memory (for the prompt pack, review and search); lessons
    that go through dedup and redaction are reported through the service or the API."""

    class Meta:
        model = "learning.LearningMemoryUpdate"

    team = "alpha"
    kind = "repair_lesson"
    error_class = "context_fetch_failed"
    lesson = factory.Sequence(lambda n: f"Retry the context fetch once, variant {_letters(n)}")
    fix = "retry"
    next_round_priority = 3
    review = "pending"
    lesson_digest = factory.LazyAttribute(lambda update: _lesson_digest(update.lesson))


def _lesson_digest(lesson: str) -> str:
    # Imported here: this section may not add to the module's imports at the top.
    from learning.services import lesson_digest

    return lesson_digest(lesson)
