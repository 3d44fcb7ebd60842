import time

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.utils.translation import gettext_lazy as _
from drf_spectacular.authentication import BasicScheme as SpectacularBasicScheme
from rest_framework import authentication, exceptions

from core.logs import bind_actor

_MAX_ENTRIES = 10_000
_permissions: dict[int, tuple[float, set[str]]] = {}


class RoleCachingModelBackend(ModelBackend):
    """Django's ModelBackend, keeping each user's permission set in this process for
    ``PLS_PERMISSION_CACHE_SECONDS``.

    Every API request checks a role permission; without this each check costs two joined
    queries (user and group permissions), a third of the ingest path's database time. A
    change to a role reaches running processes within that many seconds; deactivating a
    user or revoking a token still takes effect at once (both are checked on every request).
    """

    def get_all_permissions(self, user_obj, obj=None):  # type: ignore[no-untyped-def]
        ttl = settings.PLS_PERMISSION_CACHE_SECONDS
        if ttl <= 0 or obj is not None or not user_obj.is_active or user_obj.is_anonymous:
            return super().get_all_permissions(user_obj, obj)
        now = time.monotonic()
        cached = _permissions.get(user_obj.pk)
        if cached is not None and cached[0] > now:
            return cached[1]
        perms = super().get_all_permissions(user_obj, obj)
        if len(_permissions) >= _MAX_ENTRIES:
            _permissions.clear()
        _permissions[user_obj.pk] = (now + ttl, perms)
        return perms


def forget_cached_permissions() -> None:
    _permissions.clear()


class BasicAuthentication(authentication.BasicAuthentication):
    """HTTP Basic for people's scripts (``curl -u owner:…``), refusing credentials with a NUL
    before any login is tried: PostgreSQL cannot compare text holding one, so looking the
    user up (and django-axes recording the failed attempt) ended in a 500."""

    def authenticate_credentials(self, userid, password, request=None):  # type: ignore[no-untyped-def]
        if "\x00" in userid or "\x00" in password:
            raise exceptions.AuthenticationFailed(_("Invalid username/password."))
        user, auth = super().authenticate_credentials(userid, password, request)
        bind_actor(user=user.get_username())
        return user, auth


class BasicScheme(SpectacularBasicScheme):
    """The OpenAPI schema documents it as HTTP Basic, as it does DRF's own."""

    target_class = "core.auth_backends.BasicAuthentication"
