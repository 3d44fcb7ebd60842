"""Celery entry points of the outbox: thin wrappers taking ids, each safe to run twice."""

from celery import shared_task

from notifications import drain, drain_requests, services


@shared_task(ignore_result=True)
def drain_channel(channel_id: int) -> None:
    """Sends the channel's oldest pending reports; sent after each enqueue's commit."""
    drain_requests.drain_started(channel_id)
    drain.outbox_drain_channel(channel_id=channel_id)


@shared_task(ignore_result=True)
def drain_sweep() -> None:
    """Beat's safety net: routes unrouted reports and drains every channel with work, so a
    report whose drain task never reached the broker still goes out."""
    drain.outbox_sweep()


@shared_task(ignore_result=True)
def send_digest(name: str) -> None:
    """Beat's scheduled digests (daily scorecard, weekly learning review)."""
    services.digest_enqueue(name=name)
