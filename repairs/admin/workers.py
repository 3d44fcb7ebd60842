from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.admin import SerializerForm, decide_selected, secrets_shown_once
from core.money import money
from core.roles import PLS_OWNER, has_role
from repairs.models import Worker, WorkerToken
from repairs.services import (
    month_spend,
    worker_callback_secret_rotate,
    worker_pause,
    worker_register,
    worker_resume,
    worker_token_issue,
    worker_token_revoke,
)


class PauseInput(serializers.Serializer):
    reason = serializers.CharField(
        max_length=250, help_text=_("The worker is told this on its calls")
    )


class PauseForm(SerializerForm):
    serializer_class = PauseInput

    reason = forms.CharField(
        label=_("reason"),
        max_length=250,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text=_("Why it is paused; the worker is told this when it tries to claim work."),
    )


class ReadOnlyTokenInline(admin.TabularInline):
    model = WorkerToken
    extra = 0
    fields = ["prefix", "label", "created_at", "created_by", "last_used_at", "revoked_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # tokens are issued by the worker action, which shows the value once


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "team",
        "kind",
        "status",
        "paused_reason",
        "last_heartbeat_at",
        "spend",
        "active_tokens",
    ]
    list_filter = ["status", "team", "kind"]
    search_fields = ["name", "team"]
    readonly_fields = [
        "status",
        "paused_reason",
        "last_heartbeat_at",
        "month_spend_cents",
        "budget_month",
        "budget_warned_month",
        "created_at",
    ]
    inlines = [ReadOnlyTokenInline]
    actions = ["issue_token", "rotate_callback_secret", "pause", "resume"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Worker]:
        return (
            super()
            .get_queryset(request)
            .annotate(active_token_count=Count("tokens", filter=Q(tokens__revoked_at__isnull=True)))
        )

    @admin.display(description=_("spend this month"))
    def spend(self, worker: Worker) -> str:
        spent = month_spend(worker)
        if not worker.monthly_budget_cents:
            return gettext("%(spent)s (no budget)") % {"spent": money(spent)}
        share = spent * 100 // worker.monthly_budget_cents
        return gettext("%(spent)s of %(budget)s (%(share)s %%)") % {
            "spent": money(spent),
            "budget": money(worker.monthly_budget_cents),
            "share": share,
        }

    def has_owner_permission(self, request: HttpRequest) -> bool:
        # Pausing and resuming are the owner's (DESIGN §1: the owner manages workers).
        return has_role(request.user, PLS_OWNER)

    @admin.action(description=_("Pause selected workers…"), permissions=["owner"])
    def pause(self, request: HttpRequest, queryset: QuerySet[Worker]) -> HttpResponse | None:
        def decide(worker: Worker, data: dict[str, Any]) -> str:
            if worker_pause(worker=worker, reason=data["reason"], by=request.user):
                return gettext("%(worker)s paused: it takes no new work until resumed.") % {
                    "worker": worker.name
                }
            return gettext("%(worker)s was paused already.") % {"worker": worker.name}

        return decide_selected(
            self,
            request,
            queryset,
            form_class=PauseForm,
            title=_("Pause workers"),
            noun=_("Worker"),
            decide=decide,
        )

    @admin.action(description=_("Resume selected workers"), permissions=["owner"])
    def resume(self, request: HttpRequest, queryset: QuerySet[Worker]) -> None:
        for worker in queryset:
            if not worker_resume(worker=worker, by=request.user):
                self.message_user(
                    request,
                    gettext("%(worker)s was not paused.") % {"worker": worker.name},
                    messages.WARNING,
                )
                continue
            over = (
                worker.monthly_budget_cents and month_spend(worker) >= worker.monthly_budget_cents
            )
            if over:
                said = gettext(
                    "%(worker)s resumed. It is still over its monthly budget: its next usage "
                    "report pauses it again unless the budget is raised."
                )
            else:
                said = gettext("%(worker)s resumed.")
            self.message_user(
                request,
                said % {"worker": worker.name},
                messages.WARNING if over else messages.SUCCESS,
            )

    @admin.display(description=_("active tokens"), ordering="active_token_count")
    def active_tokens(self, worker: Worker) -> int:
        return worker.active_token_count  # type: ignore[attr-defined]

    def get_readonly_fields(self, request: HttpRequest, obj: Worker | None = None) -> list[str]:
        # A worker's name is its identity in events and its user name; it is set once.
        return [*self.readonly_fields, "name"] if obj else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Worker, form: object, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
        else:
            worker_register(obj)

    @admin.action(
        description=_("Rotate the callback signing secret (shown once)"), permissions=["change"]
    )
    def rotate_callback_secret(
        self, request: HttpRequest, queryset: QuerySet[Worker]
    ) -> HttpResponse:
        issued = [
            (worker.name, worker_callback_secret_rotate(worker=worker)) for worker in queryset
        ]
        return secrets_shown_once(self, request, issued)

    @admin.action(description=_("Issue a new API token (shown once)"), permissions=["change"])
    def issue_token(self, request: HttpRequest, queryset: QuerySet[Worker]) -> HttpResponse:
        issued = [
            (worker, worker_token_issue(worker=worker, issued_by=request.user, label="console")[1])
            for worker in queryset
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("New worker tokens"),
            "issued": issued,
            "opts": self.model._meta,
        }
        # Admin views are never_cache, so the page holding the tokens is not stored anywhere.
        return TemplateResponse(request, "admin/repairs/worker/tokens_issued.html", context)


@admin.register(WorkerToken)
class WorkerTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "worker", "label", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "worker__name", "label"]
    fields = ["worker", "prefix", "label", "created_at", "created_by", "last_used_at"]
    readonly_fields = ["worker", "prefix", "created_at", "created_by", "last_used_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # revoked tokens stay, so who used what stays traceable

    @admin.action(description=_("Revoke selected tokens"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[WorkerToken]) -> None:
        revoked = sum(worker_token_revoke(token=t, revoked_by=request.user) for t in queryset)
        self.message_user(
            request,
            ngettext("Revoked %(n)s token.", "Revoked %(n)s tokens.", revoked) % {"n": revoked},
            messages.SUCCESS,
        )
