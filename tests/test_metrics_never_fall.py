"""A scrape loop against gunicorn with two workers (as ``make run`` and the image serve the
app) never sees a counter fall: both workers' counts are summed on every scrape, whichever
answers. Without a shared multi-process folder each worker answered with its own count, and
a scrape read 1, 1, 0, 0, 0, 1."""

import itertools
import os

import pytest
import requests

from repairs.models import RepairEvent
from tests.factories import WorkerFactory, issue_token
from tests.metrics import value
from tests.processes import gunicorn, log_tail

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

EVENTS = 24


@pytest.fixture
def web(tmp_path, monkeypatch):
    # As `make run` does by default: gunicorn makes a fresh folder of its own.
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    started = []
    try:
        _, base = gunicorn(tmp_path, env={}, workers=2, track=started)
        yield base
    finally:
        for process in started:
            process.stop()
            print(log_tail(process.log))


def test_a_scrape_loop_against_two_gunicorn_workers_never_sees_a_counter_fall(web):
    token = issue_token(WorkerFactory())
    reporting = requests.Session()
    reporting.headers["Authorization"] = f"Bearer {token}"
    seen = []

    for number in range(EVENTS):
        response = reporting.post(
            f"{web}/api/v1/worker-repair-events",
            json={"gate": "stuck_claim", "error_class": f"case-{number % 3}"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        for _ in range(3):  # new connections: the kernel hands them to either worker
            text = requests.get(f"{web}/metrics", timeout=10).text
            seen.append(value(text, "pls_repair_events_total", gate="stuck_claim"))

    assert RepairEvent.objects.filter(gate="stuck_claim").count() == EVENTS
    assert all(later >= earlier for earlier, later in itertools.pairwise(seen)), seen
    assert seen[-1] == EVENTS
    assert os.environ.get("PROMETHEUS_MULTIPROC_DIR") is None
