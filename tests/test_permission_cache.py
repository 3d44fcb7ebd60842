from django.contrib.auth.models import Group

from core.auth_backends import forget_cached_permissions
from core.roles import OPS_VIEWER
from tests.factories import UserFactory


def _fresh(user):
    # A new object per request, as the API sees it, so Django's per-object cache is not used.
    return type(user).objects.get(pk=user.pk)


def test_permissions_are_reused_within_the_cache_time(db, settings, django_assert_num_queries):
    settings.PLS_PERMISSION_CACHE_SECONDS = 30
    forget_cached_permissions()
    user = UserFactory()
    user.groups.add(Group.objects.get(name=OPS_VIEWER))
    assert _fresh(user).has_perm("repairs.view_repairevent")
    request_user = _fresh(user)

    with django_assert_num_queries(0):
        assert request_user.has_perm("repairs.view_repairevent")


def test_a_role_change_applies_once_the_cache_is_forgotten(db, settings):
    settings.PLS_PERMISSION_CACHE_SECONDS = 30
    forget_cached_permissions()
    user = UserFactory()
    user.groups.add(Group.objects.get(name=OPS_VIEWER))
    assert _fresh(user).has_perm("repairs.view_repairevent")

    user.groups.clear()
    forget_cached_permissions()

    assert not _fresh(user).has_perm("repairs.view_repairevent")


def test_with_the_cache_off_a_role_change_applies_at_once(db, settings):
    settings.PLS_PERMISSION_CACHE_SECONDS = 0
    user = UserFactory()
    user.groups.add(Group.objects.get(name=OPS_VIEWER))
    assert _fresh(user).has_perm("repairs.view_repairevent")

    user.groups.clear()

    assert not _fresh(user).has_perm("repairs.view_repairevent")
