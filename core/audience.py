"""Whom a text is written for: a language and a time zone, blank meaning the console's
defaults (``PLS_LANGUAGE``, ``PLS_TIME_ZONE``). A person's are on their profile; a
notification channel's are its audience's, and its reports and digests are written inside
``speaking_to`` so that their words, times and money read as that audience reads them."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _

from core.clock import when


def time_zone_valid(name: str) -> None:
    """A model field's validator: blank, or an IANA zone name the system knows."""
    if name and name not in available_timezones():
        raise ValidationError(_("%(name)s is not a time zone name."), params={"name": name})


def language_valid(code: str) -> None:
    """A model field's validator: blank, or one of the console's languages."""
    if code and code not in dict(settings.LANGUAGES):
        raise ValidationError(
            _("%(code)s is not one of the console's languages."), params={"code": code}
        )


@contextmanager
def speaking_to(*, language: str = "", time_zone: str = "") -> Iterator[None]:
    """Within it, gettext, dates and money follow ``language`` and ``time_zone`` (blank: the
    console's defaults, whatever the current request chose)."""
    zone = ZoneInfo(time_zone) if time_zone else timezone.get_default_timezone()
    with translation.override(language or settings.LANGUAGE_CODE), timezone.override(zone):
        yield


def later(message: str | Promise, /, **params: Any) -> Promise:
    """``message % params``, translated when it is read rather than when it is written: a
    text for several audiences (a report goes to channels of several languages) is written
    once and read inside each audience's ``speaking_to``. ``message`` is a ``gettext_lazy``
    text; a lazy param (another ``later``, ``when_read``) is read at the same moment."""

    def read() -> str:
        text = str(message)
        return text % {name: _read(value) for name, value in params.items()} if params else text

    return cast(Promise, lazy(read, str)())


def _read(value: Any) -> Any:
    return str(value) if isinstance(value, Promise) else value


# A moment written in the zone of whoever reads it (``core.clock.when``, read late).
when_read = lazy(when, str)
