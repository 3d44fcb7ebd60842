"""django-axes' lists of login attempts in the reader's language: its status column named
(axes leaves it to Django, which writes the method's name: "Status"), and its rows named.
axes names each row with a fixed English f-string ("Attempted Access: <UTC time>"), which
Django shows in every row's checkbox label, the change page's title and its breadcrumbs; the
names are written again here, translated, with the time in the reader's zone."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.clock import when


class LoginAttemptAdmin(AccessAttemptAdmin):
    @admin.display(description=_("status"))
    def status(self, obj: AccessAttempt) -> str:
        return super().status(obj)


def _who_and_when(row: AccessAttempt | AccessLog | AccessFailureLog) -> dict[str, str]:
    return {"username": row.username, "address": row.ip_address, "time": when(row.attempt_time)}


def _attempt_name(attempt: AccessAttempt) -> str:
    return gettext("Failed logins of %(username)s from %(address)s, last at %(time)s") % (
        _who_and_when(attempt)
    )


def _log_name(log: AccessLog) -> str:
    return gettext("Login of %(username)s from %(address)s at %(time)s") % _who_and_when(log)


def _failure_name(failure: AccessFailureLog) -> str:
    text = (
        gettext("Failed login of %(username)s from %(address)s at %(time)s, locked out")
        if failure.locked_out
        else gettext("Failed login of %(username)s from %(address)s at %(time)s")
    )
    return text % _who_and_when(failure)


def register() -> None:
    """In place of axes' own list and names, once every admin module has registered its
    models."""
    AccessAttempt.__str__ = _attempt_name  # type: ignore[method-assign,assignment]
    AccessLog.__str__ = _log_name  # type: ignore[method-assign,assignment]
    AccessFailureLog.__str__ = _failure_name  # type: ignore[method-assign,assignment]
    if admin.site.is_registered(AccessAttempt):
        admin.site.unregister(AccessAttempt)
        admin.site.register(AccessAttempt, LoginAttemptAdmin)
