import time

from celery import shared_task
from django.core.cache import cache

from config.health import SCHEDULER_TICK_KEY


@shared_task
def scheduler_tick() -> None:
    """Run by beat every 30 s so /ready can tell whether scheduled work is running."""
    cache.set(SCHEDULER_TICK_KEY, time.time(), timeout=None)
