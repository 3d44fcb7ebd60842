"""Drill: one worker floods the API while another keeps reporting.

gunicorn with two processes (so the count must be shared through Redis, not kept per
process) and a limit of 20 requests a minute. The flooding worker gets exactly 20 requests
through in the window and 429 problem documents for the rest, whose Retry-After is the time
left in the window; the other worker is served throughout. (That the count starts again
with the next window is tests/test_rate_limit.py's, on the run's cache.)
"""

import math
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from core.throttling import parse_rate
from tests.factories import WorkerFactory, event_body, issue_token
from tests.faults.conftest import drill

pytestmark = [
    *drill(),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

RATE = "20/min"
STORM = 80


def post(base: str, token: str, n: int) -> requests.Response:
    return requests.post(
        f"{base}/api/v1/worker-repair-events",
        json=event_body(job=f"STORM-{n}", action="diagnose"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=(2, 10),
    )


def test_a_storm_from_one_worker_gets_429_while_the_other_is_served(redis_server, spawn):
    stormer, steady = issue_token(WorkerFactory()), issue_token(WorkerFactory())
    _, base = spawn.web(
        env={"REDIS_URL": redis_server.url, "PLS_WORKER_RATE_LIMIT": RATE}, workers=2
    )
    limit, period = parse_rate(RATE)
    post(base, steady, -1)  # both processes warm, so the storm fits in one window
    post(base, steady, -2)
    left = period - time.time() % period
    if left < 10:  # the storm and the steady worker's requests must share one window
        time.sleep(left + 0.05)

    started = time.time()
    with ThreadPoolExecutor(max_workers=8) as pool:
        storm = list(pool.map(lambda n: post(base, stormer, n), range(STORM)))
    served_meanwhile = [post(base, steady, n) for n in range(3)]
    finished = time.time()
    print(f"{STORM} requests of the storm and 3 of the steady worker in {finished - started:.2f} s")
    same_window = math.floor(started / period) == math.floor(finished / period)

    assert same_window, "the storm outlasted its window; the machine is too slow for this drill"
    assert sum(r.status_code == 201 for r in storm) == limit  # one count across both processes
    refused = [r for r in storm if r.status_code != 201]
    assert {r.status_code for r in refused} == {429}
    assert all(r.headers["Content-Type"] == "application/problem+json" for r in refused)
    assert all(r.json()["type"].endswith("/throttled") for r in refused)
    assert [r.status_code for r in served_meanwhile] == [201, 201, 201]

    # Retry-After is the rest of the window, as seen when each refusal was made.
    left_at_start, left_at_end = period - started % period, period - finished % period
    assert all(left_at_end <= int(r.headers["Retry-After"]) <= left_at_start + 1 for r in refused)
