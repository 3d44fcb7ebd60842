import os

from celery import Celery
from celery.signals import celeryd_init, task_postrun, task_prerun
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("pls")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Every log line of a task carries its task id and the publishing request's context.
app.steps["worker"].add(DjangoStructLogInitStep)


def _queue_depths_on_metrics() -> None:
    from core.metrics import scrape_registry
    from core.queues import QueueDepthCollector

    scrape_registry.register(QueueDepthCollector(app))


_queue_depths_on_metrics()


@celeryd_init.connect
def _metrics_to_the_database(**kwargs: object) -> None:
    # `celery worker` runs apart from the web (another container in production): its share
    # of the shared metrics goes to the database, where /metrics reads it (core.metrics).
    # It holds them until each task ends, and writes them in one transaction then.
    from core.metrics import count_in_database, hold_until_flushed

    count_in_database()
    hold_until_flushed()


@task_postrun.connect
def _metrics_written(task=None, **kwargs: object) -> None:  # type: ignore[no-untyped-def]
    # A task run in place (``apply()``) ends inside its caller's work, which flushes later.
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from core.metrics import flush

    flush()


@task_prerun.connect
@task_postrun.connect
def _database_connections_like_requests(task=None, **kwargs: object) -> None:  # type: ignore[no-untyped-def]
    # Celery's Django fixup would close the connection after every task (a new PostgreSQL
    # connection per outbox drain cost more than the drain). With CELERY_DB_REUSE_MAX set it
    # keeps it, and this treats tasks as Django treats requests: give the connection back to
    # the pool (PostgreSQL) or drop it, so a broken one (a database restart) is replaced.
    # A task run in place (``apply()``) shares its caller's connection and transaction.
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
