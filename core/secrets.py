"""Secrets the product must send but never show again (webhook and callback signing
secrets), sealed at rest with Fernet under keys from the environment.

``PLS_SECRET_ENCRYPTION_KEYS`` lists Fernet keys, comma-separated: the first seals, every one
opens (MultiFernet), so a key is rotated by putting a new one first, running
``manage.py reseal_secrets``, then dropping the old one. Unset, one key is derived from
``SECRET_KEY``: the database alone still reads nothing, but rotating ``SECRET_KEY`` would
then lose the secrets, so production sets its own keys.
"""

import base64
import hashlib
from collections.abc import Callable
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """A sealed secret no configured key opens (a key was dropped before resealing)."""


def generate_key() -> str:
    """A new key for ``PLS_SECRET_ENCRYPTION_KEYS``."""
    return Fernet.generate_key().decode()


def seal(secret: str) -> str:
    return _fernet(_keys()).encrypt(secret.encode()).decode()


def unseal(sealed: str) -> str:
    return _opened(_fernet(_keys()).decrypt, sealed)


def reseal(sealed: str) -> str:
    """The secret sealed again under the first key (for rotating the keys)."""
    return _opened(_fernet(_keys()).rotate, sealed)


def _opened(open_with: Callable[[bytes], bytes], sealed: str) -> str:
    try:
        return open_with(sealed.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "A stored secret cannot be opened with PLS_SECRET_ENCRYPTION_KEYS."
        ) from None


def _keys() -> tuple[str, ...]:
    keys = tuple(settings.PLS_SECRET_ENCRYPTION_KEYS)
    if keys:
        return keys
    derived = hashlib.sha256(b"pls-secret-encryption\x00" + settings.SECRET_KEY.encode()).digest()
    return (base64.urlsafe_b64encode(derived).decode(),)


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])
