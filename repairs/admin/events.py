from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import ExportableAdmin, ReadOnlyAdmin, SerializerForm, admin_link, decide_selected
from core.roles import PLS_OWNER, has_role
from repairs.api.events import RepairEventOutput, RepairOutcomeInput
from repairs.models import Outcome, RepairEvent, SelfHealRequest
from repairs.search import events_matching
from repairs.selectors import repair_event_list
from repairs.services import repair_event_resolve


class MarkResolvedForm(SerializerForm):
    """The lesson a resolved event leaves; blank fields are derived from the event."""

    serializer_class = RepairOutcomeInput

    lesson = forms.CharField(
        label=_("lesson"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_(
            "What a worker meeting this error next should do. Blank: derived from the "
            "event (its error class, phase and action)."
        ),
    )
    fix = forms.CharField(
        label=_("fix"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("Blank: the event's action."),
    )
    next_round_priority = forms.TypedChoiceField(
        label=_("next round priority"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("default")), *((n, f"P{n}") for n in range(1, 6))],
        help_text=_("1 = do first … 5 = last."),
    )

    def serializer_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        return {**super().serializer_data(cleaned), "outcome": Outcome.RESOLVED}


@admin.register(RepairEvent)
class RepairEventAdmin(ExportableAdmin, ReadOnlyAdmin):
    export_serializer = RepairEventOutput
    export_name = "worker-repair-events"

    """Events are evidence: readable by every role, never edited or deleted. The owner may
    mark one resolved (its outcome, set once), which records a repair lesson."""

    list_display = [
        "id",
        "occurred_at",
        "worker",
        "gate",
        "error_class",
        "job_ref",
        "action",
        "decision",
        "outcome",
        "proposal_link",
        "self_heal_link",
        "repeat_count",
    ]
    list_filter = ["gate", "decision", "outcome", "error_class", "worker__team"]
    search_fields = ["error_class", "fingerprint", "job_ref", "message"]
    date_hierarchy = "occurred_at"
    list_select_related = ["worker", "proposal", "self_heal_request"]
    readonly_fields = ["self_heal_link"]
    show_full_result_count = False  # counting a million rows on every page view is waste
    actions = ["mark_resolved"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RepairEvent]:
        return repair_event_list(user=request.user)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[RepairEvent], search_term: str
    ) -> tuple[QuerySet[RepairEvent], bool]:
        # search_fields names what the box searches; repairs.search matches it as the index
        # can answer (one text of the class, job and message, or a whole fingerprint).
        return events_matching(queryset, search_term), False

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, PLS_OWNER)

    @admin.display(description=_("proposal"), ordering="proposal")
    def proposal_link(self, event: RepairEvent) -> str:
        return admin_link(event.proposal, f"#{event.proposal_id}") if event.proposal_id else "—"

    @admin.display(description=_("self-heal request"))
    def self_heal_link(self, event: RepairEvent) -> str:
        try:
            heal = event.self_heal_request
        except SelfHealRequest.DoesNotExist:
            return "—"
        return admin_link(heal, f"#{heal.pk} {heal.get_status_display()}")

    @admin.action(description=_("Mark selected events resolved…"), permissions=["resolve"])
    def mark_resolved(
        self, request: HttpRequest, queryset: QuerySet[RepairEvent]
    ) -> HttpResponse | None:
        def resolve(event: RepairEvent, data: dict[str, Any]) -> str:
            repair_event_resolve(
                event=event,
                outcome=Outcome.RESOLVED,
                by=request.user,
                lesson=data.get("lesson", ""),
                fix=data.get("fix", ""),
                next_round_priority=data.get("next_round_priority"),
            )
            return gettext(
                "Event #%(id)s resolved; a repair lesson for %(error_class)s is in team "
                "%(team)s's learning memory, waiting for review."
            ) % {"id": event.pk, "error_class": event.error_class, "team": event.worker.team}

        return decide_selected(
            self,
            request,
            queryset,
            form_class=MarkResolvedForm,
            noun=_("Event"),
            title=_("Mark events resolved"),
            decide=resolve,
        )
