from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Case, Count, F, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

from config.admin import ReadOnlyAdmin, SerializerForm, admin_link, decide_selected, may_decide
from repairs.api.self_heal import SelfHealDecisionInput, SelfHealRejectInput
from repairs.models import Job, RepairEvent, SelfHealRequest, Worker, WorkerToken
from repairs.selectors import repair_event_list, self_heal_request_list
from repairs.services import (
    self_heal_request_decide,
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


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["external_id", "title", "priority", "status", "claimed_by", "lease_expires_at"]
    list_filter = ["status", "priority"]
    search_fields = ["external_id", "title"]
    readonly_fields = ["status", "claimed_by", "lease_expires_at", "attempts", "progress"]


@admin.register(RepairEvent)
class RepairEventAdmin(ReadOnlyAdmin):
    """Events are evidence: readable by every role, never edited or deleted."""

    list_display = [
        "id",
        "occurred_at",
        "worker",
        "gate",
        "error_class",
        "job_ref",
        "action",
        "decision",
        "proposal_link",
        "self_heal_link",
        "repeat_count",
    ]
    list_filter = ["gate", "decision", "error_class", "worker__team"]
    search_fields = ["error_class", "fingerprint", "job_ref", "message"]
    date_hierarchy = "occurred_at"
    list_select_related = ["worker", "proposal", "self_heal_request"]
    readonly_fields = ["self_heal_link"]
    show_full_result_count = False  # counting a million rows on every page view is waste

    def get_queryset(self, request: HttpRequest) -> QuerySet[RepairEvent]:
        return repair_event_list(user=request.user)

    @admin.display(description="proposal", ordering="proposal")
    def proposal_link(self, event: RepairEvent) -> str:
        return admin_link(event.proposal, f"#{event.proposal_id}") if event.proposal_id else "—"

    @admin.display(description="self-heal request")
    def self_heal_link(self, event: RepairEvent) -> str:
        try:
            heal = event.self_heal_request
        except SelfHealRequest.DoesNotExist:
            return "—"
        return admin_link(heal, f"#{heal.pk} {heal.status}")


class SelfHealApproveForm(SerializerForm):
    serializer_class = SelfHealDecisionInput
    approve = True

    note = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="The worker reads it with the decision. Required to reject.",
    )


class SelfHealRejectForm(SelfHealApproveForm):
    serializer_class = SelfHealRejectInput  # which requires the note
    approve = False


@admin.register(SelfHealRequest)
class SelfHealRequestAdmin(ReadOnlyAdmin):
    """The approval queue: pending requests first, oldest first; then decided ones, newest
    first. Approve and Reject are offered to the owner and the risk reviewer; the service
    decides whether this person may decide this request (the role the policy named, never
    the requester, not twice, not after expiry)."""

    list_display = [
        "id",
        "status",
        "worker",
        "action",
        "target",
        "approver_role",
        "age",
        "expiry",
        "decided_by",
        "event_link",
    ]
    list_filter = ["status", "approver_role", "action", "worker__team"]
    search_fields = ["worker__name", "target", "action", "event__job_ref"]
    list_select_related = ["worker", "event", "decided_by"]
    fields = [
        "status",
        "worker",
        "event_link",
        "action",
        "target",
        "risk",
        "reason",
        "approver_role",
        "created_at",
        "expires_at",
        "decided_by",
        "decided_at",
        "note",
        "callback_url",
        "callback_delivered_at",
        "callback_attempts",
        "callback_last_error",
    ]
    readonly_fields = ["event_link", "created_at"]
    actions = ["approve", "reject"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SelfHealRequest]:
        pending = Q(status=SelfHealRequest.Status.PENDING)
        return self_heal_request_list(user=request.user).annotate(
            pending_rank=Case(When(pending, then=Value(0)), default=Value(1)),
            pending_since=Case(When(pending, then=F("created_at")), default=None),
        )

    def get_ordering(self, request: HttpRequest) -> list[str]:
        return ["pending_rank", "pending_since", "-created_at"]

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return may_decide(request, "repairs.change_selfhealrequest")

    @admin.display(description="age", ordering="created_at")
    def age(self, heal: SelfHealRequest) -> str:
        return timesince(heal.created_at)

    @admin.display(description="expires", ordering="expires_at")
    def expiry(self, heal: SelfHealRequest) -> str:
        if heal.status != SelfHealRequest.Status.PENDING:
            return "—"
        if heal.expires_at <= timezone.now():
            return "overdue (expires on the next sweep)"
        return f"in {timeuntil(heal.expires_at)}"

    @admin.display(description="event")
    def event_link(self, heal: SelfHealRequest) -> str:
        return admin_link(heal.event, f"#{heal.event_id} {heal.event.job_ref}".strip())

    @admin.action(description="Approve selected self-heal requests…", permissions=["decide"])
    def approve(
        self, request: HttpRequest, queryset: QuerySet[SelfHealRequest]
    ) -> HttpResponse | None:
        return self._decide(request, queryset, SelfHealApproveForm)

    @admin.action(description="Reject selected self-heal requests…", permissions=["decide"])
    def reject(
        self, request: HttpRequest, queryset: QuerySet[SelfHealRequest]
    ) -> HttpResponse | None:
        return self._decide(request, queryset, SelfHealRejectForm)

    def _decide(
        self,
        request: HttpRequest,
        queryset: QuerySet[SelfHealRequest],
        form_class: type[SelfHealApproveForm],
    ) -> HttpResponse | None:
        def decide(heal: SelfHealRequest, data: dict[str, Any]) -> str:
            decided = self_heal_request_decide(
                request=heal, user=request.user, approve=form_class.approve, note=data["note"]
            )
            return f"Self-heal request #{decided.pk} {decided.status}: {decided.worker} may " + (
                f"{decided.action} now." if form_class.approve else f"not {decided.action}."
            )

        verb = "Approve" if form_class.approve else "Reject"
        return decide_selected(
            self,
            request,
            queryset,
            form_class=form_class,
            noun="Self-heal request",
            title=f"{verb} self-heal requests",
            decide=decide,
        )
