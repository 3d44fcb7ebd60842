from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from artifacts.api import ArtifactCheckOutput
from artifacts.models import ArtifactGateCheck
from artifacts.selectors import artifact_check_list
from core.admin import ExportableAdmin, ReadOnlyAdmin, admin_link


@admin.register(ArtifactGateCheck)
class ArtifactGateCheckAdmin(ExportableAdmin, ReadOnlyAdmin):
    export_serializer = ArtifactCheckOutput
    export_name = "artifact-gate-checks"

    """Checks are evidence: readable by every role, written only by the check task."""

    list_display = [
        "id",
        "created_at",
        "status",
        "job_link",
        "worker",
        "failing_url",
        "short_reason",
        "attempts",
    ]
    list_filter = ["status", "worker__team"]
    search_fields = ["job__external_id", "worker__name", "primary_url", "failing_url"]
    date_hierarchy = "created_at"
    list_select_related = ["job", "worker"]
    show_full_result_count = False
    fields = [
        "status",
        "job_link",
        "worker",
        "primary_url",
        "reason",
        "failing_url",
        "url_results",
        "attempts",
        "created_at",
        "started_at",
        "finished_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ArtifactGateCheck]:
        return artifact_check_list(user=request.user)

    @admin.display(description=_("job"), ordering="job__external_id")
    def job_link(self, check: ArtifactGateCheck) -> str:
        return admin_link(check.job, check.job.external_id)

    @admin.display(description=_("reason"))
    def short_reason(self, check: ArtifactGateCheck) -> str:
        return check.reason if len(check.reason) <= 120 else check.reason[:119] + "…"

    @admin.display(description=_("per-URL results"))
    def url_results(self, check: ArtifactGateCheck) -> str:
        if not check.results:
            return "— (not run yet)" if check.status in ("pending", "running") else "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    "passed" if item.get("passed") else "FAILED",
                    item.get("role", ""),
                    item.get("url", ""),
                    item.get("status_code") or "—",
                    _final_url(item),
                    "—" if item.get("latency_ms") is None else f"{item['latency_ms']} ms",
                    f"{item.get('bytes_read', 0)}{'+' if item.get('truncated') else ''}",
                    item.get("content_type") or "—",
                    _hash_or_error(item),
                )
                for item in check.results
            ),
        )
        return format_html(
            '<table class="artifact-results"><thead><tr><th>result</th><th>role</th>'
            "<th>URL</th><th>HTTP</th><th>final URL</th><th>latency</th><th>bytes</th>"
            "<th>content type</th><th>sha256 / error</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )


def _final_url(item: dict) -> str:
    if not item.get("redirects"):
        return "—"
    return f"{item.get('final_url', '')} ({len(item['redirects'])} redirect(s))"


def _hash_or_error(item: dict) -> str:
    if item.get("error"):
        return item["error"]
    if item.get("expected_sha256"):
        return f"{item.get('sha256')} (matches)"
    return item.get("sha256") or "—"
