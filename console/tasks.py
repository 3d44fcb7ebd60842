from celery import shared_task

from core.retention import retention_purge as purge


@shared_task
def retention_purge() -> dict[str, dict]:
    """Beat: ages out what the PLS_RETAIN_*_DAYS settings say (console.retention). Safe to
    run twice: a second run finds nothing due. Returns what each kind removed."""
    return {name: purged.as_dict() for name, purged in purge().items()}
