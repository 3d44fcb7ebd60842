"""The console home costs the same number of queries with ten times the data: every figure is
read from the rollup, an index or a bounded list, never by walking the events."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboards.services import event_rollup_advance
from repairs.models import RepairEvent

pytestmark = pytest.mark.django_db

HOME = "/admin/"
# What the page may cost at most: session, user, permissions, the app list, and the panels.
MAX_QUERIES = 60


def grow(fleet, n: int) -> None:
    """``n`` events over 30 days of every gate, with requests, checks and lessons, and
    ``n`` // 10 jobs."""
    gates = ["stuck_claim", "artifact_guard", "friction", "worker_learning"]
    for i in range(n):
        fleet.event(
            gates[i % len(gates)],
            f"class_{i % 13}",
            at=fleet.ago(days=i % 30, minutes=1),
            action="retry" if i % 3 == 0 else "",
            decision="allowed" if i % 3 == 0 else "",
            outcome=("resolved", "failed", "")[i % 3],
            resolved_after=60 * (i % 7 + 1),
        )
    for i in range(max(n // 20, 1)):
        fleet.request(status=("pending", "approved", "rejected")[i % 3], latency=300 * (i + 1))
        fleet.check(("passed", "failed")[i % 2])
        fleet.lesson(("repair_lesson", "policy_friction")[i % 2])
    fleet.jobs(max(n // 10, 1))


def home_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(HOME)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("rolled_up", [False, True])
def test_the_home_costs_the_same_queries_with_ten_times_the_data(client, owner, fleet, rolled_up):
    client.force_login(owner)
    grow(fleet, 30)
    if rolled_up:
        RepairEvent.objects.update(received_at=fleet.ago(hours=1))
        event_rollup_advance()
    small = home_queries(client)

    grow(fleet, 300)
    if rolled_up:
        RepairEvent.objects.update(received_at=fleet.ago(hours=1))
        event_rollup_advance()
    large = home_queries(client)

    assert small == large
    assert large <= MAX_QUERIES


@pytest.mark.parametrize("role", ["owner", "reviewer", "viewer"])
def test_every_role_stays_under_the_query_budget(
    request, client, fleet, role, django_assert_max_num_queries
):
    grow(fleet, 30)
    client.force_login(request.getfixturevalue(role))

    with django_assert_max_num_queries(MAX_QUERIES):
        assert client.get(HOME).status_code == 200
