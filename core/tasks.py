from celery import shared_task

from core.idempotency import idempotency_keys_purge
from core.scheduler import scheduler_tick_record


@shared_task
def scheduler_tick() -> None:
    """Run by beat every 30 s so /ready can tell whether scheduled work is running."""
    scheduler_tick_record()


@shared_task
def idempotency_keys_purge_expired() -> int:
    """Beat, hourly: deletes idempotency keys older than PLS_IDEMPOTENCY_KEY_TTL_HOURS."""
    return idempotency_keys_purge()
