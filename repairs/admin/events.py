from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from config.admin import ReadOnlyAdmin, admin_link
from repairs.models import RepairEvent, SelfHealRequest
from repairs.selectors import repair_event_list


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
