import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.cache import cache

from config.celery import app
from console.health import SCHEDULER_TICK_KEY
from repairs.tasks import scheduler_tick


@pytest.mark.redis
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_celery_worker_runs_tasks_sent_through_redis():
    cache.delete(SCHEDULER_TICK_KEY)
    before = time.time()

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        scheduler_tick.delay()
        deadline = time.monotonic() + 15
        while cache.get(SCHEDULER_TICK_KEY) is None and time.monotonic() < deadline:
            time.sleep(0.1)

    assert cache.get(SCHEDULER_TICK_KEY) >= before
