"""Standard Webhooks signatures (https://www.standardwebhooks.com, spec 1.0.0, symmetric):
``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers, the signature being
``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` under a ``whsec_<base64>`` secret.
Several signatures, space-separated, while a rotated secret's overlap window runs.
"""

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
# The spec asks for 24 to 64 random bytes.
_SECRET_BYTES = 32


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()


def signature(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(
    secrets_: Sequence[str], *, msg_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The three headers for ``body``, signed with each secret (the current one first).
    ``msg_id`` stays the same on every attempt at one message, so a receiver can drop
    repeats; it must not contain a ".". The timestamp is the attempt's."""
    sent_at = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(sent_at),
        "webhook-signature": " ".join(
            signature(secret, msg_id=msg_id, timestamp=sent_at, body=body) for secret in secrets_
        ),
    }
