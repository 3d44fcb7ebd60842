"""The verdict log: every answer given to an agent's tool call, read-only, exportable."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.admin import ExportableAdmin, ReadOnlyAdmin, admin_link
from repairs.api.tool_verdicts import ToolVerdictLogOutput
from repairs.models import ToolVerdict
from repairs.selectors import tool_verdict_list


@admin.register(ToolVerdict)
class ToolVerdictAdmin(ExportableAdmin, ReadOnlyAdmin):
    """Append-only history: readable by every role, never edited or deleted."""

    export_serializer = ToolVerdictLogOutput
    export_name = "tool-verdicts"

    list_display = [
        "id",
        "created_at",
        "worker",
        "agent",
        "tool_name",
        "rule",
        "action",
        "target",
        "verdict",
        "policy_version",
        "self_heal_link",
    ]
    list_filter = ["verdict", "agent", "rule", "action", "worker__team"]
    search_fields = ["tool_name", "rule", "target", "digest", "tool_use_id", "session_id"]
    date_hierarchy = "created_at"
    list_select_related = ["worker", "policy", "self_heal_request"]
    fields = readonly_fields = [
        "created_at",
        "worker",
        "agent",
        "session_id",
        "tool_use_id",
        "tool_name",
        "tool_input",
        "cwd",
        "digest",
        "job_ref",
        "rule",
        "policy_version",
        "verdict",
        "action",
        "target",
        "reason",
        "self_heal_link",
    ]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ToolVerdict]:
        return tool_verdict_list(user=request.user)

    @admin.display(description=_("policy"), ordering="policy__version")
    def policy_version(self, verdict: ToolVerdict) -> str:
        return f"v{verdict.policy.version}"

    @admin.display(description=_("self-heal request"))
    def self_heal_link(self, verdict: ToolVerdict) -> str:
        heal = verdict.self_heal_request
        return admin_link(heal, f"#{heal.pk} {heal.get_status_display()}") if heal else "—"
