"""The audit trail in the console and the API: Django's admin log (``LogEntry``), written by
``core.audit.audit_record`` from the services and by the admin's own forms.

Readable by the owner and the viewer (``admin.view_logentry``, granted by this app's
migration); never added, edited or deleted, and never purged by retention.
"""

from typing import Any

import django_filters
from django.contrib import admin
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core import audit
from core.admin import ExportableAdmin, ReadOnlyAdmin
from core.exports import ExportableList
from core.filters import UtcIsoDateTimeFilter
from core.pagination import NewestFirst
from core.permissions import RolePermissions

ACTIONS = {ADDITION: "addition", CHANGE: "change", DELETION: "deletion"}
# The channels as the console names them; the API and the filter's parameter keep the codes.
CHANNEL_LABELS = {
    audit.CONSOLE: _("console"),
    audit.API: _("API"),
    audit.CHAT: _("chat"),
    audit.COMMAND: _("command"),
}


def audit_trail() -> QuerySet[LogEntry]:
    """Every audit entry, with what the console and the API show of each."""
    return LogEntry.objects.select_related("user", "content_type")


class AuditEntryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    action_time = serializers.DateTimeField()
    user = serializers.CharField(source="user.get_username")
    via = serializers.SerializerMethodField(help_text="console, api, chat or command")
    action = serializers.SerializerMethodField(help_text="addition, change or deletion")
    object_type = serializers.SerializerMethodField(
        help_text="app_label.model, e.g. repairs.selfhealrequest"
    )
    object_id = serializers.CharField(allow_null=True)
    object_repr = serializers.CharField()
    message = serializers.SerializerMethodField()

    def get_via(self, entry: LogEntry) -> str:
        return audit.channel_of(entry)

    def get_action(self, entry: LogEntry) -> str:
        return ACTIONS.get(entry.action_flag, str(entry.action_flag))

    def get_object_type(self, entry: LogEntry) -> str | None:
        kind = entry.content_type
        return f"{kind.app_label}.{kind.model}" if kind else None

    def get_message(self, entry: LogEntry) -> str:
        return audit.message_of(entry)


class AuditEntryFilter(django_filters.FilterSet):
    user = django_filters.CharFilter(field_name="user__username")
    object_type = django_filters.CharFilter(method="by_object_type")
    object_id = django_filters.CharFilter()
    via = django_filters.ChoiceFilter(choices=[(c, c) for c in audit.CHANNELS], method="by_via")
    since = UtcIsoDateTimeFilter(field_name="action_time", lookup_expr="gte")
    until = UtcIsoDateTimeFilter(field_name="action_time", lookup_expr="lt")

    class Meta:
        model = LogEntry
        fields = ["user", "object_type", "object_id", "via", "since", "until"]

    def by_object_type(self, entries: QuerySet, name: str, value: str) -> QuerySet:
        app_label, _, model = value.partition(".")
        return entries.filter(content_type__app_label=app_label, content_type__model=model)

    def by_via(self, entries: QuerySet, name: str, value: str) -> QuerySet:
        return entries.filter(audit.channel_filter(value))


class AuditTrailApi(ExportableList):
    """Who changed what, when and through which channel, newest first; filter by ``user``,
    ``object_type`` (``repairs.selfhealrequest``), ``object_id``, ``via``, ``since`` and
    ``until``. Also as NDJSON or CSV (``?format=ndjson`` / ``?format=csv``)."""

    permission_classes = [RolePermissions]
    serializer_class = AuditEntryOutput
    filterset_class = AuditEntryFilter
    pagination_class = NewestFirst
    queryset = LogEntry.objects.none()  # for RolePermissions' model lookup
    export_name = "audit-trail"

    def get_queryset(self) -> QuerySet[LogEntry]:
        return audit_trail()


class ChannelFilter(admin.SimpleListFilter):
    title = _("channel")
    parameter_name = "via"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(channel, CHANNEL_LABELS[channel]) for channel in audit.CHANNELS]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(audit.channel_filter(value)) if value in audit.CHANNELS else queryset


@admin.register(LogEntry)
class AuditTrailAdmin(ExportableAdmin, ReadOnlyAdmin):
    """The audit page: filter by person, object type, channel and date."""

    export_serializer = AuditEntryOutput
    export_name = "audit-trail"
    list_display = [
        "action_time",
        "user",
        "channel",
        "action",
        "content_type",
        "object_link",
        "message",
    ]
    list_filter = [
        ("user", admin.RelatedOnlyFieldListFilter),
        ("content_type", admin.RelatedOnlyFieldListFilter),
        ChannelFilter,
        "action_flag",
        "action_time",
    ]
    # The entry page shows what the list shows: the channel, the action and the message as
    # a person reads them, not the stored ``[channel]`` prefix and flag.
    fields = ["action_time", "user", "channel", "action", "content_type", "object_link", "message"]
    readonly_fields = fields
    search_fields = ["object_repr", "change_message", "user__username"]
    date_hierarchy = "action_time"
    list_select_related = ["user", "content_type"]
    ordering = ["-action_time", "-id"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[LogEntry]:
        return audit_trail()

    @admin.display(description=_("channel"))
    def channel(self, entry: LogEntry) -> str:
        return CHANNEL_LABELS[audit.channel_of(entry)]

    @admin.display(description=_("action"), ordering="action_flag")
    def action(self, entry: LogEntry) -> str:
        return entry.get_action_flag_display()

    @admin.display(description=_("object"), ordering="object_repr")
    def object_link(self, entry: LogEntry) -> str:
        url = entry.get_admin_url() if entry.object_id else ""
        return (
            format_html('<a href="{}">{}</a>', url, entry.object_repr) if url else entry.object_repr
        )

    @admin.display(description=_("message"))
    def message(self, entry: LogEntry) -> str:
        text = audit.message_of(entry)
        if audit.written_in_english(entry):
            return format_html('<span lang="en">{}</span>', text)
        return text
