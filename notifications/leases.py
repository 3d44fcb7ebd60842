"""A channel's lease: whoever holds it is the only one sending, or handing over, that
channel's reports (a compare-and-set on two columns, never a lock held across HTTP)."""

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from notifications.models import Channel


def lease_acquire(channel: Channel, now: datetime) -> str | None:
    """Takes the channel's lease if it is free or expired; its token, or None if busy."""
    token = secrets.token_hex(16)
    taken = Channel.objects.filter(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now), pk=channel.pk
    ).update(lease_token=token, lease_expires_at=now + lease_duration())
    return token if taken else None


def lease_release(channel: Channel, token: str) -> bool:
    """Lets go of the lease if ``token`` still holds it."""
    return bool(
        Channel.objects.filter(pk=channel.pk, lease_token=token).update(
            lease_token="", lease_expires_at=None
        )
    )


def lease_duration() -> timedelta:
    return timedelta(seconds=settings.PLS_NOTIFY_LEASE_SECONDS)
