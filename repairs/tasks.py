from celery import shared_task

from repairs import services
from repairs.exceptions import CallbackFailed


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
def self_heal_reminders_sweep() -> int:
    """Beat, every minute: reminds and escalates unanswered self-heal requests. Safe to run
    twice at once: each reminder is sent by whichever run marks its request first."""
    return services.self_heal_requests_remind()


@shared_task
def stuck_claims_sweep() -> int:
    """Beat, every minute: the stuck-claim watchdog. Safe to run twice at once: each stuck
    claim is recorded by whichever run marks it first."""
    return services.job_stuck_claims_detect()
