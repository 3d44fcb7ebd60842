from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from repairs.models import Worker, WorkerToken
from repairs.services import (
    worker_register,
    worker_token_issue,
    worker_token_revoke,
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
    list_display = ["name", "team", "kind", "status", "last_heartbeat_at", "active_tokens"]
    list_filter = ["status", "team", "kind"]
    search_fields = ["name", "team"]
    readonly_fields = ["status", "last_heartbeat_at", "month_spend_cents", "created_at"]
    inlines = [ReadOnlyTokenInline]
    actions = ["issue_token"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Worker]:
        return (
            super()
            .get_queryset(request)
            .annotate(active_token_count=Count("tokens", filter=Q(tokens__revoked_at__isnull=True)))
        )

    @admin.display(description="active tokens", ordering="active_token_count")
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

    @admin.action(description="Issue a new API token (shown once)", permissions=["change"])
    def issue_token(self, request: HttpRequest, queryset: QuerySet[Worker]) -> HttpResponse:
        issued = [
            (worker, worker_token_issue(worker=worker, issued_by=request.user, label="console")[1])
            for worker in queryset
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "New worker tokens",
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

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[WorkerToken]) -> None:
        revoked = sum(worker_token_revoke(token=t, revoked_by=request.user) for t in queryset)
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)
