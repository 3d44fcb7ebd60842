from celery import shared_task

from core.scheduler import scheduler_tick_record


@shared_task
def scheduler_tick() -> None:
    """Run by beat every 30 s so /ready can tell whether scheduled work is running."""
    scheduler_tick_record()
