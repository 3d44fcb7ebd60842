"""Each person's language and clock: kept on their profile, refused when unknown, and applied
to every console request they make."""

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone, translation

from core.middleware import ProfileMiddleware
from core.profiles import profile_for, profile_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner() -> User:
    return User.objects.create_user("owner", password="x")


def seen_by(user) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    request = RequestFactory().get("/admin/")
    request.user = user

    def view(_request) -> HttpResponse:  # type: ignore[no-untyped-def]
        return HttpResponse(f"{timezone.get_current_timezone_name()}|{translation.get_language()}")

    with translation.override("en"):
        return tuple(ProfileMiddleware(view)(request).content.decode().split("|"))  # type: ignore[return-value]


def test_a_person_who_never_chose_gets_the_console_defaults(owner, settings):
    settings.TIME_ZONE = "Asia/Taipei"

    assert profile_for(owner).pk is None
    assert seen_by(owner) == ("Asia/Taipei", "en")


def test_the_chosen_zone_and_language_apply_to_their_requests(owner):
    profile_update(user=owner, time_zone="Europe/Berlin", language="zh-hant")

    assert seen_by(User.objects.get(pk=owner.pk)) == ("Europe/Berlin", "zh-hant")


def test_returning_to_blank_returns_to_the_default(owner, settings):
    settings.TIME_ZONE = "Asia/Taipei"
    profile_update(user=owner, time_zone="Europe/Berlin")

    profile_update(user=owner, time_zone="")

    assert seen_by(User.objects.get(pk=owner.pk))[0] == "Asia/Taipei"


@pytest.mark.parametrize(
    "change", [{"time_zone": "Mars/Olympus_Mons"}, {"language": "tlh"}], ids=["zone", "language"]
)
def test_an_unknown_zone_or_language_is_refused_and_nothing_is_kept(owner, change):
    with pytest.raises(ValidationError) as refused:
        profile_update(user=owner, **change)

    assert set(refused.value.message_dict) == set(change)
    assert not type(profile_for(owner)).objects.filter(user=owner).exists()
