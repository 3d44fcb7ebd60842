"""django-axes' list of login attempts, with its status column named in the reader's
language (axes leaves it to Django, which writes the method's name: "Status")."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class LoginAttemptAdmin(AccessAttemptAdmin):
    @admin.display(description=_("status"))
    def status(self, obj: AccessAttempt) -> str:
        return super().status(obj)


def register() -> None:
    """In place of axes' own list, once every admin module has registered its models."""
    if admin.site.is_registered(AccessAttempt):
        admin.site.unregister(AccessAttempt)
        admin.site.register(AccessAttempt, LoginAttemptAdmin)
