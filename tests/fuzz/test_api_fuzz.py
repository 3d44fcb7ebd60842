"""Schemathesis against the schema the app serves at /api/schema/, in-process over WSGI.

Every operation in the schema is fuzzed twice, as a worker (its Bearer token) and as the
PLS owner (HTTP Basic), on a fleet with one of every record: two workers on two teams, each
holding a job with an event, a pending self-heal request, an artifact check and a lesson.
Generated path ids are mixed with the ids of those records, so the handlers behind the
lookups run too, not only their 404s.

Checks on every response: no 5xx; the status code is documented for the operation; the
content type and body match the documented response; every 4xx is an RFC 9457 problem
document. Nothing is excluded. Nothing leaves the machine: the test's transaction is never
committed, so the after-commit work (artifact fetches, self-heal callbacks, owner
notifications) is never asked of Celery.

Bounded for CI: FUZZ_MAX_EXAMPLES (default 25) examples per operation and phase,
deterministic (the same cases every run), no deadline.
"""

import base64
import os

import pytest
import schemathesis
from django.contrib.auth.models import Group
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from config.problems import PROBLEM_CONTENT_TYPE
from config.roles import PLS_OWNER
from config.wsgi import application
from policies.models import Proposal, WorkerPolicy
from tests.factories import UserFactory
from tests.security.fleet import worker_with_records

pytestmark = pytest.mark.fuzz

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "25"))
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",  # the same cases every run; nothing saved between runs
            # The test sends its own credentials; generated ones would only replace them.
            "with-security-parameters": False,
        },
        "checks": {
            # Business rules refuse some schema-valid input by design (a job that is not
            # registered is 400, an empty filter means "no filter"), so the two checks that
            # equate "valid per schema" with "accepted" would report the rules, not bugs.
            "positive_data_acceptance": {"enabled": False},
            "negative_data_rejection": {"enabled": False},
        },
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG)

# Ids of the fleet's records by the path they are looked up under; set by the fixture.
KNOWN_IDS: dict[str, list] = {}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    path = context.operation.path
    if not path_parameters or len(path_parameters) != 1:
        return st.just(path_parameters)
    for prefix, values in KNOWN_IDS.items():
        if path.startswith(prefix) and values:
            (name,) = path_parameters
            known = st.sampled_from(values).map(lambda value, name=name: {name: value})
            return st.one_of(st.just(path_parameters), known)
    return st.just(path_parameters)


@schemathesis.check
def problem_document(ctx, response, case):
    """Every 4xx is an RFC 9457 problem document."""
    if not 400 <= response.status_code < 500:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.startswith(PROBLEM_CONTENT_TYPE), (
        f"{response.status_code} answered with Content-Type {content_type!r}"
    )
    body = response.json()
    missing = sorted({"type", "title", "status"} - set(body))
    assert not missing, f"problem document without {missing}"
    assert body["status"] == response.status_code, "status member differs from the status"
    return True


@pytest.fixture
def fleet(db):
    alpha = worker_with_records(team="alpha")
    beta = worker_with_records(team="beta")
    records = (alpha, beta)
    KNOWN_IDS.clear()
    KNOWN_IDS.update(
        {
            "/api/v1/artifact-gate-checks/": [r.artifact_check for r in records],
            "/api/v1/jobs/": [r.job for r in records],
            "/api/v1/learning-memory-updates/": [r.learning_update for r in records],
            "/api/v1/proposals/": list(Proposal.objects.values_list("pk", flat=True)),
            "/api/v1/self-heal-requests/": [r.self_heal_request for r in records],
            "/api/v1/worker-policy/": list(WorkerPolicy.objects.values_list("pk", flat=True)),
            "/api/v1/worker-repair-events/": [r.event for r in records],
        }
    )
    yield alpha, beta
    KNOWN_IDS.clear()


@pytest.fixture
def as_worker(fleet, keep_test_connection):
    alpha, _ = fleet
    return {"Authorization": f"Bearer {alpha.token}"}


@pytest.fixture
def as_owner(fleet, keep_test_connection):
    owner = UserFactory(is_staff=True)
    owner.groups.add(Group.objects.get(name=PLS_OWNER))
    basic = base64.b64encode(f"{owner.username}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {basic}"}


# The fixtures are set up once per operation, not per example, on purpose: the fleet is the
# state the examples act on (and change, as a client would).
FUZZ_SETTINGS = settings(suppress_health_check=list(HealthCheck))


@schema.parametrize()
@FUZZ_SETTINGS
def test_the_api_holds_its_schema_for_a_worker(case, as_worker):
    case.call_and_validate(headers=as_worker)


@schema.parametrize()
@FUZZ_SETTINGS
def test_the_api_holds_its_schema_for_the_owner(case, as_owner):
    case.call_and_validate(headers=as_owner)
