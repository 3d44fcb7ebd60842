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

import pytest
from hypothesis import HealthCheck, settings

from tests.fuzz.harness import schema

pytestmark = pytest.mark.fuzz

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
