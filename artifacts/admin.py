from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
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
            return gettext("— (not run yet)") if check.status in ("pending", "running") else "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    gettext("passed") if item.get("passed") else gettext("FAILED"),
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
        headings = format_html_join(
            "",
            "<th>{}</th>",
            (
                (heading,)
                for heading in (
                    gettext("result"),
                    gettext("role"),
                    "URL",
                    "HTTP",
                    gettext("final URL"),
                    gettext("latency"),
                    gettext("bytes"),
                    gettext("content type"),
                    gettext("sha256 / error"),
                )
            ),
        )
        return format_html(
            '<table class="artifact-results"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
            headings,
            rows,
        )


def _final_url(item: dict) -> str:
    if not item.get("redirects"):
        return "—"
    count = len(item["redirects"])
    return ngettext("%(url)s (%(count)s redirect)", "%(url)s (%(count)s redirects)", count) % {
        "url": item.get("final_url", ""),
        "count": count,
    }


def _hash_or_error(item: dict) -> str:
    if item.get("error"):
        return item["error"]
    if item.get("expected_sha256"):
        return gettext("%(sha256)s (matches)") % {"sha256": item.get("sha256")}
    return item.get("sha256") or "—"
