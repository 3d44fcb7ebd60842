"""Celery entry points of the artifact guard: thin wrappers taking ids, each safe to run twice.

``artifact_check_run`` is routed to its own queue, ``artifacts`` (CELERY_TASK_ROUTES): a
check waits on the network for seconds, so it is consumed by a worker with the threads pool
and many slots, and never queues owner notifications behind slow URLs.
"""

from celery import shared_task

from artifacts import services


@shared_task(ignore_result=True)
def artifact_check_run(check_id: int) -> None:
    """Runs a submitted check; sent after the submission's commit and by the sweep."""
    services.artifact_check_run(check_id=check_id)


@shared_task(ignore_result=True)
def artifact_checks_sweep() -> None:
    """Beat: asks again for checks still pending (the broker was down at submission) and for
    checks stuck in running (their worker was lost)."""
    services.artifact_checks_sweep()
