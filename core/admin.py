"""The console's kit, shared by every app's admin: lists that answer bad query strings with
the admin's "invalid" notice, serializer-backed forms, decide-selected actions, links and the
read-only history admin. The site itself is ``console.site``.

Decisions in the console are admin actions with an intermediate page: the person states
why (the form, validated by the same serializer the API uses, so the rules live in one
place), then the action calls the domain service once per selected row and reports each
outcome. A refusal from the service (wrong role, own request, already decided, stale) is
shown as an error message, never a 500.
"""

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG, PAGE_VAR, ChangeList
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core import exports
from core.exceptions import DomainError
from core.permissions_shown import permission_label
from core.roles import acts_as_decider

# The submit button of an intermediate page; without it the action only asks.
DECIDE = "_decide"


class ConsoleChangeList(ChangeList):
    """A console list whose query string is input like any other: a value no link of the
    list carries is an incorrect lookup, which the admin answers by showing the list with
    its "invalid" notice (``?e=1``), never with a 500.

    Django 5.2 lets two such values escape as a 500 (ticket #37357, fixed upstream after
    5.2.19): a date drill-down year too large for an int (OverflowError) and the year 9999,
    whose end (year 10 000) is past the calendar (ValueError). Parsing the filters is the
    only thing ``get_filters`` does with the query string, so what it raises is the input's
    fault.
    """

    def get_filters(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        try:
            return super().get_filters(request)
        except (ValueError, OverflowError) as exc:
            raise IncorrectLookupParameters(exc) from exc


class ConsoleListAdmin(admin.ModelAdmin):
    """Every list of the console uses ``ConsoleChangeList``, whichever app registered it;
    every choice of permissions (the User and Group forms) reads in the person's language."""

    def formfield_for_manytomany(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> forms.ModelMultipleChoiceField | None:
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and db_field.related_model is Permission:
            field.label_from_instance = permission_label  # type: ignore[method-assign,assignment]
        return field

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        changelist = super().get_changelist(request, **kwargs)
        if issubclass(changelist, ConsoleChangeList):
            return changelist
        return type(changelist.__name__, (ConsoleChangeList, changelist), {})


def may_decide(request: HttpRequest, permission: str) -> bool:
    """Whether the console offers decisions on a model to this person: they hold its
    ``permission`` and act as the owner or the risk reviewer (a superuser holds every role).
    The service still checks each decision; this only keeps actions from people who
    could never use them."""
    return request.user.has_perm(permission) and acts_as_decider(request.user)


def messages_of(errors: Any) -> Iterable[str]:
    """The plain messages in a serializer's (possibly nested) errors."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            for message in messages_of(value):
                yield f"{key}: {message}"
    elif isinstance(errors, list):
        for value in errors:
            yield from messages_of(value)
    else:
        yield str(errors)


class SerializerForm(forms.Form):
    """A console form whose rules are the API's: once the fields parse, ``serializer_data()``
    goes through ``serializer_class`` and its errors land on the matching fields. The
    serializer's output is ``validated``."""

    serializer_class: type[serializers.Serializer]
    validated: dict[str, Any]

    def serializer_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        # A blank field is left out, as an API client leaves out what it does not set.
        return {name: value for name, value in cleaned.items() if value not in (None, "")}

    def clean(self) -> dict[str, Any]:
        super().clean()  # Form.clean() hands back cleaned_data; the stubs say "or None"
        cleaned = self.cleaned_data
        if self.errors:
            return cleaned
        payload = self.serializer_class(data=self.serializer_data(cleaned))
        if payload.is_valid():
            self.validated = dict(payload.validated_data)
        else:
            for name, errors in payload.errors.items():
                field = name if name in self.fields else None
                for message in messages_of(errors):
                    self.add_error(field, message)
        return cleaned


def decide_selected(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    form_class: type[SerializerForm],
    title: str,
    noun: str,
    decide: Callable[[Any, dict[str, Any]], str],
    form_kwargs: dict[str, Any] | None = None,
) -> TemplateResponse | None:
    """Runs an admin action that asks before it decides.

    The first POST (from the changelist) shows ``admin/<app>/<model>/decide.html`` with the
    selected rows and ``form_class``; the page posts back with ``DECIDE``. Once the form is
    valid, ``decide(row, validated)`` runs for each row and its returned text (or the
    service's refusal, after ``noun #pk``) becomes a message; the admin then returns to the
    changelist. ``form_kwargs`` go to the form (what this person may set, say).
    """
    kwargs = form_kwargs or {}
    form = form_class(request.POST, **kwargs) if DECIDE in request.POST else form_class(**kwargs)
    if form.is_bound and form.is_valid():
        for row in queryset:
            try:
                outcome = decide(row, form.validated)
            except DomainError as refused:
                model_admin.message_user(
                    request, f"{noun} #{row.pk}: {refused.detail}", messages.ERROR
                )
            else:
                model_admin.message_user(request, outcome, messages.SUCCESS)
        return None
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": opts,
        "form": form,
        "queryset": queryset,
        "action": request.POST["action"],
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "decide": DECIDE,
    }
    return TemplateResponse(
        request, f"admin/{opts.app_label}/{opts.model_name}/decide.html", context
    )


def secrets_shown_once(
    model_admin: admin.ModelAdmin, request: HttpRequest, issued: list[tuple[str, str]]
) -> TemplateResponse:
    """The page that shows new signing secrets, each next to the name it belongs to, the
    only time they are shown: they are stored sealed and never rendered again. Admin views
    are never_cache, so the page is not kept anywhere either."""
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("New signing secrets"),
        "issued": issued,
        "opts": opts,
        "overlap_hours": settings.PLS_WEBHOOK_SECRET_OVERLAP.total_seconds() / 3600,
        "back": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
    }
    return TemplateResponse(request, "admin/core/secrets_shown_once.html", context)


def admin_link(obj: Model | None, text: str = "") -> str:
    """A link to ``obj``'s page in the console, or a dash."""
    if obj is None:
        return "—"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text or str(obj))


class ReadOnlyAdmin(admin.ModelAdmin):
    """History: readable by every role, never added, edited or deleted in the console, not
    even by a superuser. Writes happen through the services only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ExportableAdmin(admin.ModelAdmin):
    """A changelist that offers its rows as NDJSON and CSV (``core.exports``), with its own
    filters, search and date drill-down: the links carry the list's query string.

    ``export_serializer`` renders each row, the API's serializer for the same records, so a
    console export and an API export of one record are the same.
    """

    export_serializer: type[serializers.Serializer]
    export_name = "export"
    change_list_template = "admin/core/export_change_list.html"

    def get_urls(self) -> list:
        opts = self.model._meta
        export = path(
            "export/<str:fmt>/",
            self.admin_site.admin_view(self.export_view),
            name=f"{opts.app_label}_{opts.model_name}_export",
        )
        return [export, *super().get_urls()]

    def export_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset

    def export_view(self, request: HttpRequest, fmt: str) -> HttpResponseBase:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if fmt not in exports.FORMATS:
            raise Http404(f"no export format {fmt!r}")
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(f"{request.path}../../?{ERROR_FLAG}=1")
        serializer = self.export_serializer
        return exports.export_response(
            self.export_queryset(changelist.queryset),
            fmt=fmt,
            serialize=lambda rows: serializer(rows, many=True).data,
            columns=exports.columns_of(serializer()),
            name=self.export_name,
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        query = request.GET.copy()
        query.pop(PAGE_VAR, None)
        opts = self.model._meta
        url = reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_export", args=["FMT"]
        )
        encoded = query.urlencode()
        links = [
            (label, url.replace("FMT", fmt) + (f"?{encoded}" if encoded else ""))
            for fmt, label in ((exports.CSV, _("Export CSV")), (exports.NDJSON, _("Export NDJSON")))
        ]
        extra_context = {**(extra_context or {}), "export_links": links}
        return super().changelist_view(request, extra_context)
