from celery import shared_task

from core.idempotency import idempotency_keys_purge


@shared_task
def idempotency_keys_purge_expired() -> int:
    """Beat, hourly: deletes idempotency keys older than PLS_IDEMPOTENCY_KEY_TTL_HOURS."""
    return idempotency_keys_purge()
