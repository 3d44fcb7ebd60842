"""The operator's view of the outbox: channels (owner only) and the reports sent through them."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import secrets_shown_once
from core.secrets import Unopened
from notifications.chat import chat_identity_unlink
from notifications.models import Channel, ChatIdentity, OwnerReport
from notifications.services import (
    channel_save,
    channel_send_test,
    channel_webhook_secret_rotate,
    report_purge_archived,
    report_replay_failed,
)

_LAST_ERROR_CHARS = 80
# Which reports a channel takes: shown in its list, edited in its form.
_ROUTING_FIELDS = ["role", "team", "min_status", "muted_until"]


def _short(text: str) -> str:
    return text if len(text) <= _LAST_ERROR_CHARS else text[: _LAST_ERROR_CHARS - 1] + "…"


class ChannelForm(forms.ModelForm):
    """Secrets are write-only: never rendered back, and a blank field keeps the stored value."""

    api_base = forms.URLField(
        label=Channel._meta.get_field("api_base").verbose_name,
        required=False,
        assume_scheme="https",
        help_text=Channel._meta.get_field("api_base").help_text,
    )
    new_interaction_secret = forms.CharField(
        label=_("Interaction secret"),
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "What the provider signs its callbacks with: Telegram's webhook secret token, "
            "Slack's signing secret or LINE's channel secret. Stored sealed; blank keeps it."
        ),
    )

    class Meta:
        model = Channel
        fields = [
            "name",
            "kind",
            "enabled",
            *_ROUTING_FIELDS,
            *Channel.SECRET_FIELDS,
            "target",
            "api_base",
            "legacy_signature",
            "fallback",
            "fallback_after",
            "interaction_public_key",
        ]
        widgets = {
            name: forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
            for name in Channel.SECRET_FIELDS
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in Channel.SECRET_FIELDS:
            field = self.fields[name]
            if getattr(self.instance, name, ""):
                field.help_text = gettext("Set. Leave blank to keep it. %(help)s") % {
                    "help": field.help_text
                }
            elif isinstance(getattr(self.instance, name, ""), Unopened):
                field.help_text = gettext(
                    "Stored, but sealed under a key PLS_SECRET_ENCRYPTION_KEYS no longer "
                    "holds: enter it again. %(help)s"
                ) % {"help": field.help_text}
            field.initial = ""

        if self.instance.interaction_secret:
            secret = self.fields["new_interaction_secret"]
            secret.help_text = gettext("Set. %(help)s") % {"help": secret.help_text}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in Channel.SECRET_FIELDS:
            if not cleaned.get(name):
                cleaned[name] = getattr(self.instance, name, "")
        return cleaned

    def save(self, commit: bool = True) -> Channel:
        secret = self.cleaned_data.get("new_interaction_secret")
        if secret:
            self.instance.interaction_secret = secret
        return super().save(commit=commit)


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = [
        "name",
        "kind",
        "enabled",
        *_ROUTING_FIELDS,
        "destination_display",
        "pending_reports",
        "failed_reports",
        "retry_at",
        "fallback",
        "last_error_short",
        "last_sent_at",
    ]
    list_filter = ["kind", "enabled", "role", "min_status"]
    list_select_related = ["fallback"]
    search_fields = ["name", "team"]  # never the secret columns: a search would be an oracle
    readonly_fields = [
        "failure_streak",
        "retry_at",
        "paused_until",
        "last_error",
        "last_sent_at",
        "sent_total",
        "transient_error_total",
        "permanent_error_total",
        "suppressed_total",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "kind", "enabled"]}),
        (_("Which reports"), {"fields": _ROUTING_FIELDS}),
        (_("Audience"), {"fields": ["language", "time_zone"]}),
        (
            _("Destination"),
            {"fields": ["url", "token", "target", "api_base"]},
        ),
        (
            _("Generic webhook signatures"),
            {
                "fields": ["legacy_signature", "signing_secret"],
                "description": _(
                    "Deliveries carry Standard Webhooks signatures (webhook-id, "
                    "webhook-timestamp, webhook-signature) under a secret the console "
                    "generates and shows once when the channel is saved; rotate it with the "
                    "list's action. The legacy X-PLS-Signature is for old receivers only."
                ),
            },
        ),
        (
            _("Fallback"),
            {
                "fields": ["fallback", "fallback_after"],
                "description": _(
                    "Where this channel's reports go when it refuses one for good, fails "
                    "PLS_FALLBACK_AFTER_ATTEMPTS times in a row, holds one past the fallback "
                    "age while failing, or is paused until a known moment (LINE's monthly "
                    "limit). Both reports say where it went."
                ),
            },
        ),
        (
            _("Approving from chat"),
            {
                "fields": ["new_interaction_secret", "interaction_public_key"],
                "description": _(
                    "Reports asking for a decision carry Approve / Reject buttons once the "
                    "provider's callbacks can be verified. Point the provider at "
                    "/api/v1/channels/&lt;this channel's id&gt;/interactions (README: "
                    "Approving from chat)."
                ),
            },
        ),
        (_("Delivery"), {"fields": readonly_fields}),
    ]
    actions = ["send_test", "rotate_webhook_secret"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Channel]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                pending_count=Count("reports", filter=Q(reports__state=OwnerReport.State.PENDING)),
                failed_count=Count("reports", filter=Q(reports__state=OwnerReport.State.FAILED)),
            )
        )

    def _reports_link(self, channel: Channel, state: str, count: int) -> str:
        url = reverse("admin:notifications_ownerreport_changelist")
        return format_html(
            '<a href="{}?channel__id__exact={}&state__exact={}">{}</a>',
            url,
            channel.pk,
            state,
            count,
        )

    @admin.display(description=_("destination"))
    def destination_display(self, channel: Channel) -> str:
        return channel.destination

    @admin.display(description=_("pending"), ordering="pending_count")
    def pending_reports(self, channel: Channel) -> str:
        return self._reports_link(channel, OwnerReport.State.PENDING, channel.pending_count)  # type: ignore[attr-defined]

    @admin.display(description=_("failed"), ordering="failed_count")
    def failed_reports(self, channel: Channel) -> str:
        return self._reports_link(channel, OwnerReport.State.FAILED, channel.failed_count)  # type: ignore[attr-defined]

    @admin.display(description=_("last error"))
    def last_error_short(self, channel: Channel) -> str:
        return _short(channel.last_error)

    def save_model(self, request: HttpRequest, obj: Channel, form: Any, change: bool) -> None:
        channel_save(channel=obj, by=request.user)
        # A new webhook channel gets its secret now; an older one by the rotate action.
        if not change and obj.kind == Channel.Kind.WEBHOOK:
            issued = channel_webhook_secret_rotate(channel=obj)
            request._pls_secrets_issued = [(obj.name, issued)]  # type: ignore[attr-defined]

    def _response_after_save(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        issued = getattr(request, "_pls_secrets_issued", None)
        return secrets_shown_once(self, request, issued) if issued else response

    def response_add(self, request: HttpRequest, obj: Channel, *args: Any) -> HttpResponse:
        return self._response_after_save(request, super().response_add(request, obj, *args))

    def response_change(self, request: HttpRequest, obj: Channel) -> HttpResponse:
        return self._response_after_save(request, super().response_change(request, obj))

    @admin.action(
        description=_("Rotate the webhook signing secret (shown once)"), permissions=["change"]
    )
    def rotate_webhook_secret(
        self, request: HttpRequest, queryset: QuerySet[Channel]
    ) -> HttpResponse:
        issued = [
            (channel.name, channel_webhook_secret_rotate(channel=channel))
            for channel in queryset.filter(kind=Channel.Kind.WEBHOOK)
        ]
        return secrets_shown_once(self, request, issued)

    # channel_save wrote the audit entry (core.audit); the admin's own would be a second.
    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> None:
        return None

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> None:
        return None

    @admin.action(description=_("Send a test report"), permissions=["change"])
    def send_test(self, request: HttpRequest, queryset: QuerySet[Channel]) -> None:
        for channel in queryset:
            channel_send_test(channel=channel, by=request.user)
        self.message_user(
            request,
            gettext(
                "Queued a test report for %(n)s channel(s); "
                "its state in Owner reports shows whether the channel took it."
            )
            % {"n": queryset.count()},
            messages.SUCCESS,
        )


class ChannelOrUnroutedFilter(admin.SimpleListFilter):
    title = _("routing")
    parameter_name = "routed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", gettext("Unrouted (no channel yet)"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[OwnerReport]) -> QuerySet:
        return queryset.filter(channel__isnull=True) if self.value() == "no" else queryset


class PurgeForm(forms.Form):
    older_than_days = forms.IntegerField(min_value=0, initial=30, label=_("Older than (days)"))


@admin.register(OwnerReport)
class OwnerReportAdmin(admin.ModelAdmin):
    """Reports are a record of what owners were told: read-only, replayable, purgeable."""

    list_display = [
        "id",
        "created_at",
        "channel_or_unrouted",
        "state",
        "status",
        "source",
        "title",
        "team",
        "worker",
        "task_id",
        "attempts",
        "last_error_short",
        "sent_at",
        "suppressed_count",
        "went_to",
    ]
    list_filter = ["state", "channel", ChannelOrUnroutedFilter, "status", "source"]
    search_fields = ["title", "task_id", "worker", "team", "dedup_key"]
    list_select_related = ["channel", "handed_to__channel", "fallback_for__channel", "grouped_into"]
    ordering = ["-id"]  # newest first here; the outbox itself goes oldest first
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["replay_failed"]

    @admin.display(description=_("channel"), ordering="channel__name")
    def channel_or_unrouted(self, report: OwnerReport) -> str:
        return report.channel.name if report.channel else gettext("(unrouted)")

    @admin.display(description=_("last error"))
    def last_error_short(self, report: OwnerReport) -> str:
        return _short(report.last_error)

    @admin.display(description=_("went to"))
    def went_to(self, report: OwnerReport) -> str:
        return report.went_to or "—"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OwnerReport | None = None) -> bool:
        # The change permission is the right to replay (a list action); a report itself is
        # never edited.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: OwnerReport | None = None) -> bool:
        return False  # only archived reports go, through "Purge archived" (purge_view)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(
        description=_("Replay selected failed reports (in their original order)"),
        permissions=["change"],
    )
    def replay_failed(self, request: HttpRequest, queryset: QuerySet[OwnerReport]) -> None:
        replayed = report_replay_failed(
            report_ids=queryset.values_list("pk", flat=True), by=request.user
        )
        self.message_user(
            request,
            gettext("Re-queued %(n)s failed report(s).") % {"n": replayed},
            messages.SUCCESS,
        )

    def get_urls(self) -> list:
        purge = path(
            "purge/",
            self.admin_site.admin_view(self.purge_view),
            name="notifications_ownerreport_purge",
        )
        return [purge, *super().get_urls()]

    def _may_purge(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notifications.delete_ownerreport")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "may_purge": self._may_purge(request)}
        return super().changelist_view(request, extra_context)

    def purge_view(self, request: HttpRequest) -> HttpResponse:
        if not self._may_purge(request):
            raise PermissionDenied
        form = PurgeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            purged = report_purge_archived(
                older_than_days=form.cleaned_data["older_than_days"], by=request.user
            )
            self.message_user(
                request,
                gettext("Purged %(n)s archived report(s).") % {"n": purged},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:notifications_ownerreport_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Purge archived reports"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/notifications/ownerreport/purge.html", context)


@admin.register(ChatIdentity)
class ChatIdentityAdmin(admin.ModelAdmin):
    """Who is linked: read-only, and unlinked by deleting (the owner). People link
    themselves, with a code from "Link my chat account"."""

    list_display = [
        "kind",
        "display_name",
        "provider_user_id",
        "user",
        "linked_through",
        "linked_at",
    ]
    list_filter = ["kind"]
    search_fields = ["display_name", "provider_user_id", "user__username"]
    readonly_fields = [
        "kind",
        "provider_user_id",
        "display_name",
        "user",
        "linked_through",
        "linked_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: ChatIdentity) -> None:
        chat_identity_unlink(identity=obj, by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ChatIdentity]) -> None:
        for identity in queryset:
            chat_identity_unlink(identity=identity, by=request.user)

    def log_deletion(self, request: HttpRequest, obj: Any, object_repr: str) -> None:
        pass  # chat_identity_unlink writes the audit entry

    def log_deletions(self, request: HttpRequest, queryset: Any) -> None:
        pass
