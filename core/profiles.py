"""Each person's language and clock (``core.models.Profile``): the one write and the one read
that the console's header, the admin and the middleware share."""

from django.contrib.auth.base_user import AbstractBaseUser

from core.models import Profile


def profile_for(user: AbstractBaseUser) -> Profile:
    """The user's profile, unsaved and blank (the console's defaults) when they never chose."""
    try:
        return user.profile  # type: ignore[attr-defined]
    except Profile.DoesNotExist:
        return Profile(user=user)  # type: ignore[misc]


def profile_update(
    *, user: AbstractBaseUser, language: str | None = None, time_zone: str | None = None
) -> Profile:
    """Sets what is given (``""`` returns to the default); refuses a language or zone the
    console does not know with ``ValidationError``."""
    profile = profile_for(user)
    if language is not None:
        profile.language = language
    if time_zone is not None:
        profile.time_zone = time_zone
    profile.full_clean(exclude=["user"])
    profile.save()
    user.profile = profile  # type: ignore[attr-defined]
    return profile
