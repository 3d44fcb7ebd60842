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


# --- Artifact gate checks ----------------------------------------------------------------------


# --- Learning memory ---------------------------------------------------------------------------
