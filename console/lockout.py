"""What a person locked out by django-axes reads (AXES_LOCKOUT_CALLABLE): axes' own lockout
page, with the cool-off written as words of the reader's language ("15 分鐘", "15 minutes")
rather than axes' ``0:15:00``."""

from typing import Any

from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.timesince import timesince


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    cool_off = get_cool_off(request)
    now = timezone.now()
    context = {
        "failure_limit": get_failure_limit(request, credentials),
        "username": get_client_username(request, credentials) or "",
        "cooloff_timedelta": cool_off,
        # timesince speaks the active language (Django's own catalogue has its units).
        "cooloff": timesince(now, now + cool_off) if cool_off else "",
    }
    return render(
        request, settings.AXES_LOCKOUT_TEMPLATE, context, status=settings.AXES_HTTP_RESPONSE_CODE
    )
