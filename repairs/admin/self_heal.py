from typing import Any

from django.contrib import admin
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import ExportableAdmin, ReadOnlyAdmin, admin_link, decide_selected, may_decide
from repairs.api.self_heal import SelfHealRequestOutput
from repairs.forms import SelfHealApproveForm, SelfHealRejectForm, decision_said
from repairs.models import SelfHealRequest
from repairs.selectors import self_heal_request_list
from repairs.services import (
    self_heal_request_decide,
)


@admin.register(SelfHealRequest)
class SelfHealRequestAdmin(ExportableAdmin, ReadOnlyAdmin):
    export_serializer = SelfHealRequestOutput
    export_name = "self-heal-requests"

    """The approval queue: pending requests first, oldest first; then decided ones, newest
    first. Approve and Reject are offered to the owner and the risk reviewer; the service
    decides whether this person may decide this request (the role the policy named, never
    the requester, not twice, not after expiry)."""

    list_display = [
        "id",
        "status",
        "worker",
        "action",
        "resources_display",
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
        "resources_display",
        "target",
        "risk",
        "reason",
        "approver_role",
        "created_at",
        "expires_at",
        "reminded_at",
        "escalated_at",
        "decided_by",
        "decided_at",
        "note",
        "callback_url",
        "callback_delivered_at",
        "callback_attempts",
        "callback_last_error",
    ]
    readonly_fields = [
        "event_link",
        "resources_display",
        "created_at",
        "reminded_at",
        "escalated_at",
    ]
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

    @admin.display(description=_("age"), ordering="created_at")
    def age(self, heal: SelfHealRequest) -> str:
        return timesince(heal.created_at)

    @admin.display(description=_("expires"), ordering="expires_at")
    def expiry(self, heal: SelfHealRequest) -> str:
        if heal.status != SelfHealRequest.Status.PENDING:
            return "—"
        if heal.expires_at <= timezone.now():
            return gettext("overdue (expires on the next sweep)")
        return gettext("in %(time)s") % {"time": timeuntil(heal.expires_at)}

    @admin.display(description=_("touches"))
    def resources_display(self, heal: SelfHealRequest) -> str:
        return heal.resources_shown or "—"

    @admin.display(description=_("event"))
    def event_link(self, heal: SelfHealRequest) -> str:
        return admin_link(heal.event, f"#{heal.event_id} {heal.event.job_ref}".strip())

    @admin.action(description=_("Approve selected self-heal requests…"), permissions=["decide"])
    def approve(
        self, request: HttpRequest, queryset: QuerySet[SelfHealRequest]
    ) -> HttpResponse | None:
        return self._decide(request, queryset, SelfHealApproveForm)

    @admin.action(description=_("Reject selected self-heal requests…"), permissions=["decide"])
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
            return decision_said(
                self_heal_request_decide(
                    request=heal, user=request.user, approve=form_class.approve, note=data["note"]
                )
            )

        return decide_selected(
            self,
            request,
            queryset,
            form_class=form_class,
            noun=_("Self-heal request"),
            title=_("Approve self-heal requests")
            if form_class.approve
            else _("Reject self-heal requests"),
            decide=decide,
        )
