"""The header's language switch (``admin/base_site.html``): the choice is kept on the
person's profile (``core.profiles.profile_update``), which ``core.middleware.ProfileMiddleware``
applies to every later request, over the browser's Accept-Language."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core.profiles import profile_update


@require_POST
def language_choose(request: HttpRequest) -> HttpResponse:
    try:
        profile_update(user=request.user, language=request.POST.get("language", ""))
    except ValidationError:
        codes = ", ".join(code for code, _ in settings.LANGUAGES)
        return HttpResponseBadRequest(f"language must be one of: {codes}")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("admin:index")
    return HttpResponseRedirect(back)
