"""Chat identities: linking a person on a chat provider to a console user, unlinking, and
remembering which provider callbacks were handled. The console's chat endpoint
(``console.chat``) calls these; every write is here.

Linking: the console shows a signed-in user a one-time code (``chat_link_code_issue``),
valid ten minutes; they send ``/link <code>`` to the bot, whose verified callback names their
provider user id (``chat_identity_link``). The code, not the chat, says who they are.
"""

import hashlib
import secrets
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from core.audit import ADDITION, CHAT, DELETION, audit_record, said
from core.retention import DEFAULT_BATCH, delete_in_batches
from notifications.models import Channel, ChatCallbackSeen, ChatIdentity, ChatLinkCode

# Unambiguous letters and digits: read off a screen, typed on a phone.
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_CODE_LENGTH = 8


class LinkRefused(Exception):
    """The code is unknown, used or expired: the chat is told so, nothing changes."""


def _hash(code: str) -> str:
    normal = "".join(code.split()).upper()
    return hashlib.sha256(normal.encode()).hexdigest()


def chat_link_code_issue(*, user: AbstractBaseUser, now: datetime | None = None) -> str:
    """A new one-time code for ``user`` (shown once; only its hash is stored)."""
    now = now or timezone.now()
    code = "".join(secrets.choice(_ALPHABET) for _ in range(_CODE_LENGTH))
    ChatLinkCode.objects.create(
        user=user, code_hash=_hash(code), created_at=now, expires_at=now + ChatLinkCode.TTL
    )
    return code


def chat_identity_link(
    *, channel: Channel, provider_user_id: str, display_name: str, code: str
) -> ChatIdentity:
    """Links the chat identity that sent ``code`` to the user the code was issued to.

    The code works once (a conditional update marks it used) and only before it expires.
    Linking an identity linked before moves it to the code's user."""
    now = timezone.now()
    with transaction.atomic():
        link_code = ChatLinkCode.objects.filter(code_hash=_hash(code)).first()
        if link_code is None or not link_code.is_usable(now):
            raise LinkRefused(
                gettext("This code is unknown, used or expired. Ask the console for a new one.")
            )
        taken = ChatLinkCode.objects.filter(pk=link_code.pk, used_at__isnull=True).update(
            used_at=now
        )
        if not taken:
            raise LinkRefused(
                gettext("This code is unknown, used or expired. Ask the console for a new one.")
            )
        identity, _created = ChatIdentity.objects.update_or_create(
            kind=channel.kind,
            provider_user_id=provider_user_id,
            defaults={
                "user": link_code.user,
                "display_name": display_name[:200],
                "linked_through": channel,
                "linked_at": now,
            },
        )
        audit_record(
            user=link_code.user,
            obj=identity,
            action_flag=ADDITION,
            message=said(
                gettext_noop("Linked chat identity %(identity)s through channel %(channel)s."),
                identity=identity.described,
                channel=channel.name,
            ),
            via=CHAT,
        )
    return identity


def chat_identity_unlink(*, identity: ChatIdentity, by: AbstractBaseUser) -> None:
    """An admin unlinks an identity: its buttons act for nobody from now on."""
    with transaction.atomic():
        audit_record(
            user=by,
            obj=identity,
            action_flag=DELETION,
            message=said(
                gettext_noop("Unlinked chat identity %(identity)s from %(user)s."),
                identity=identity.described,
                user=str(identity.user),
            ),
        )
        identity.delete()


def chat_identity_for(*, kind: str, provider_user_id: str) -> ChatIdentity | None:
    return (
        ChatIdentity.objects.select_related("user")
        .filter(kind=kind, provider_user_id=provider_user_id, user__is_active=True)
        .first()
    )


def chat_callback_first_seen(*, channel: Channel, event_id: str) -> bool:
    """Records the provider's callback id; False when it was handled before (a replay or a
    redelivery), in which case the caller changes nothing. Runs in the caller's transaction,
    so a callback whose handling failed is not remembered."""
    try:
        with transaction.atomic():
            ChatCallbackSeen.objects.create(channel=channel, event_id=event_id[:200])
    except IntegrityError:
        return False
    return True


def chat_callbacks_purge(*, cutoff: datetime, batch_size: int = DEFAULT_BATCH) -> int:
    """Forgets callback ids handled before ``cutoff`` and link codes spent or expired by then.
    Older replays stay harmless: Slack and Discord sign a timestamp refused after minutes,
    and a decided record is not decided again."""
    seen = delete_in_batches(
        ChatCallbackSeen.objects.filter(seen_at__lt=cutoff), batch_size=batch_size
    )
    codes = delete_in_batches(
        ChatLinkCode.objects.filter(Q(expires_at__lt=cutoff) | Q(used_at__lt=cutoff)),
        batch_size=batch_size,
    )
    return seen + codes
