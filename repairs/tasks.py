import time

from celery import shared_task
from django.core.cache import cache

from console.health import SCHEDULER_TICK_KEY
from repairs import services
from repairs.exceptions import CallbackFailed


@shared_task
def scheduler_tick() -> None:
    """Run by beat every 30 s so /ready can tell whether scheduled work is running."""
    cache.set(SCHEDULER_TICK_KEY, time.time(), timeout=None)


@shared_task(
    bind=True,
    autoretry_for=(CallbackFailed,),
    retry_backoff=10,
    retry_backoff_max=600,
    max_retries=6,
)
def self_heal_callback_send(self, request_id: int) -> None:  # type: ignore[no-untyped-def]
    """Sends a decided request's signed callback; retried with backoff while it fails."""
    services.self_heal_callback_deliver(request_id=request_id)


@shared_task
def self_heal_requests_sweep() -> None:
    """Beat, every minute: expires stale requests and re-sends callbacks whose task was
    lost (a broker outage at decision time) or gave up."""
    services.self_heal_requests_expire()
    for request_id in services.self_heal_callbacks_due():
        self_heal_callback_send.delay(request_id)


@shared_task
def stuck_claims_sweep() -> int:
    """Beat, every minute: the stuck-claim watchdog. Safe to run twice at once: each stuck
    claim is recorded by whichever run marks it first."""
    return services.job_stuck_claims_detect()
