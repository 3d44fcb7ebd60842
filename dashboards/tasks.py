from celery import shared_task

from dashboards import services


@shared_task
def event_rollup() -> int:
    """Beat, every minute: adds the events received since the last run to the per-day
    rollup the console home reads. Safe to run twice at once (the mark is locked)."""
    return services.event_rollup_advance().events


@shared_task
def event_rollup_rebuild() -> int:
    """Beat, hourly: recounts the rollup's window from the events table."""
    return services.event_rollup_rebuild().events
