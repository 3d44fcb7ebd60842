"""Secrets the product must send but never show again, sealed at rest with Fernet under keys
from the environment: webhook and callback signing secrets, a channel's webhook URL, bot token
and legacy signing key, and the secret a chat provider signs its callbacks with.

A ``SealedField`` column holds the secret sealed; the model's attribute holds it in clear, so
code reads and sets it as any text. It is opened when the attribute is first read, not when
the row is loaded, and a save writes a secret nobody read back as it was. Sealing is
randomised, so a sealed column cannot be filtered on, except for being blank (a blank secret
is stored blank), and ``values()`` of one gives its stored form, not the secret.

``PLS_SECRET_ENCRYPTION_KEYS`` lists Fernet keys, comma-separated: the first seals, every one
opens (MultiFernet), so a key is rotated by putting a new one first, running
``manage.py reseal_secrets``, then dropping the old one. Unset, one key is derived from
``SECRET_KEY``: the database alone still reads nothing, but rotating ``SECRET_KEY`` would
then lose the secrets, so production sets its own keys.

A secret that no configured key opens (a key dropped before resealing) reads as ``Unopened``:
blank, so nothing is ever sent with a wrong secret, and written back exactly as it was, so
putting the key back restores it.
"""

import base64
import hashlib
import logging
from functools import cache
from typing import Any, cast

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models
from django.db.models.query_utils import DeferredAttribute

logger = logging.getLogger(__name__)


_UNREADABLE = "A stored secret cannot be opened with PLS_SECRET_ENCRYPTION_KEYS."


class SecretUnreadable(Exception):
    """A sealed secret no configured key opens (a key was dropped before resealing)."""


def generate_key() -> str:
    """A new key for ``PLS_SECRET_ENCRYPTION_KEYS``."""
    return Fernet.generate_key().decode()


def seal(secret: str) -> str:
    return _fernet(_keys()).encrypt(secret.encode()).decode()


def unseal(sealed: str) -> str:
    try:
        return _fernet(_keys()).decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(_UNREADABLE) from None


def _keys() -> tuple[str, ...]:
    keys = tuple(settings.PLS_SECRET_ENCRYPTION_KEYS)
    if keys:
        return keys
    derived = hashlib.sha256(b"pls-secret-encryption\x00" + settings.SECRET_KEY.encode()).digest()
    return (base64.urlsafe_b64encode(derived).decode(),)


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


class Unopened(str):
    """A sealed secret no configured key opens. It reads as blank, and ``sealed`` keeps what
    the column holds, which ``SealedField`` writes back unchanged."""

    sealed: str

    def __new__(cls, sealed: str) -> "Unopened":
        unopened = super().__new__(cls, "")
        unopened.sealed = sealed
        return unopened


class _Stored:
    """A sealed column's value as read, not opened yet."""

    __slots__ = ("sealed",)

    def __init__(self, sealed: str) -> None:
        self.sealed = sealed

    def __repr__(self) -> str:
        return "<sealed>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Stored) and other.sealed == self.sealed

    def __hash__(self) -> int:
        return hash(self.sealed)


class _OpenedOnRead(DeferredAttribute):
    """A ``SealedField``'s attribute: opens the stored value the first time it is read, so a
    row loaded for anything else (a list page, an export, the worker of a request) pays
    nothing for its secrets (opening one costs about 13 µs)."""

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        value = super().__get__(instance, cls)
        if isinstance(value, _Stored):
            value = cast(SealedField, self.field).open_stored(value.sealed)
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        # A data descriptor, so that reads come here even once the value is in the instance.
        instance.__dict__[self.field.attname] = value


class SealedField(models.TextField):
    """Text sealed in its column (``seal``) and in clear on the model (``unseal``)."""

    descriptor_class = _OpenedOnRead

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        return _Stored(value) if value else value

    def open_stored(self, sealed: str) -> str:
        try:
            return unseal(sealed)
        except SecretUnreadable:
            logger.error(
                "%s of a %s row cannot be opened with PLS_SECRET_ENCRYPTION_KEYS",
                self.name,
                self.model._meta.label,
            )
            return Unopened(sealed)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        # What the row holds, opened or not: a secret never read is written back as it was.
        return model_instance.__dict__.get(self.attname)

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, (_Stored, Unopened)):  # never read, or read but not opened
            return value.sealed
        value = super().get_prep_value(value)
        return seal(value) if value else value


def opened(secret: str) -> str:
    """``secret``, or ``SecretUnreadable`` when it is ``Unopened``: for what must not go out
    without it (a signature left off would look like a message with no secret to sign)."""
    if isinstance(secret, Unopened):
        raise SecretUnreadable(_UNREADABLE)
    return secret


def sealed_fields(model: type[models.Model]) -> list[str]:
    """The names of ``model``'s sealed columns."""
    return [field.name for field in model._meta.concrete_fields if isinstance(field, SealedField)]
