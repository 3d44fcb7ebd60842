"""My settings: each person picks the language and the time zone the console speaks to them
in. Kept on their profile through ``core.profiles.profile_update`` (which refuses a language or
zone the console does not know); ``core.middleware.ProfileMiddleware`` applies it to every
later request. Blank keeps the console's defaults (``PLS_LANGUAGE``, ``PLS_TIME_ZONE``)."""

from zoneinfo import available_timezones

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.clock import when
from core.profiles import profile_for, profile_update


def _language_choices() -> list[tuple[str, str]]:
    return [("", gettext_lazy("Console default")), *settings.LANGUAGES]


def _zone_choices() -> list[tuple[str, str]]:
    zones = sorted(available_timezones() - {"localtime"})
    return [("", gettext_lazy("Console default")), *((zone, zone) for zone in zones)]


class _LanguageSelect(forms.Select):
    """Each language named in itself ("English"), its option saying so with ``lang``, as the
    header's language switch does."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):  # type: ignore[no-untyped-def]
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if value:
            option["attrs"]["lang"] = value
        return option


class MySettingsForm(forms.Form):
    language = forms.ChoiceField(
        label=gettext_lazy("Language"), required=False, widget=_LanguageSelect
    )
    # IANA zone names are codes ("Asia/Taipei", "Japan"): not words to translate.
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        required=False,
        widget=forms.Select(attrs={"translate": "no"}),
    )

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = _language_choices()
        self.fields["time_zone"].choices = _zone_choices()


def my_settings(request: HttpRequest) -> HttpResponse:
    profile = profile_for(request.user)  # type: ignore[arg-type]
    if request.method == "POST":
        form = MySettingsForm(request.POST)
        if form.is_valid():
            try:
                profile_update(user=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            except ValidationError as refused:
                for field, errors in refused.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(request, _("Your settings are saved."))
                return HttpResponseRedirect(reverse("admin:console_my_settings"))
    else:
        form = MySettingsForm(
            initial={"language": profile.language, "time_zone": profile.time_zone}
        )

    context = {
        **admin.site.each_context(request),
        "title": _("My settings"),
        "form": form,
        "default_language": dict(settings.LANGUAGES).get(
            settings.LANGUAGE_CODE, settings.LANGUAGE_CODE
        ),
        "default_zone": settings.TIME_ZONE,
        "now_shown": when(timezone.now()),
    }
    return TemplateResponse(request, "admin/console/my_settings.html", context)
