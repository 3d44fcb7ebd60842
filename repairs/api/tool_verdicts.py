"""``/api/v1/tool-verdicts``: an agent's hook asks before a tool runs (a worker token), and
people read the verdict log (also as NDJSON or CSV)."""

import time

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.exports import ExportableList
from core.filters import UtcIsoDateTimeFilter
from core.idempotency import idempotent
from core.openapi import request_examples
from core.pagination import NewestFirst
from core.permissions import RolePermissions
from policies import ladder
from policies.metrics import tool_verdict_latency
from repairs.api.events import ShallowFieldsSerializer
from repairs.models import ToolVerdict
from repairs.selectors import tool_verdict_list, worker_for_user
from repairs.services.tool_verdicts import ToolCall, tool_verdict_give


@request_examples(
    (
        _("Claude Code asks before a Bash call"),
        {
            "tool_name": "Bash",
            "tool_input": {"command": "docker restart web-1"},
            "agent": "claude_code",
            "session_id": "abc123",
            "tool_use_id": "toolu_01",
            "cwd": "/home/user/my-project",
        },
    ),
)
class ToolVerdictInput(ShallowFieldsSerializer):
    tool_name = serializers.CharField(max_length=200)
    tool_input = serializers.DictField(
        help_text=_("The tool's input as the agent sent it (the request is at most 1 MiB)")
    )
    agent = serializers.ChoiceField(choices=ToolVerdict.Agent.choices, default="other")
    session_id = serializers.CharField(max_length=200, required=False, allow_blank=True)
    tool_use_id = serializers.CharField(max_length=200, required=False, allow_blank=True)
    cwd = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    job = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text=_("The job's external id; default: the job the worker holds"),
    )


class SelfHealRequestBrief(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField(help_text=_("pending, approved, rejected or expired"))
    expires_at = serializers.DateTimeField()


class ToolVerdictOutput(serializers.Serializer):
    # Plain strings in the schema: the choice sets are named where events and self-heal
    # requests define them (one name per set, which drf-spectacular insists on).
    verdict = serializers.CharField(help_text=_("allowed, needs_approval or denied"))
    reason = serializers.CharField()
    action = serializers.CharField(help_text=_("The ladder action the call was judged as"))
    target = serializers.CharField()
    rule = serializers.CharField(help_text=_("The tool rule that matched, or tool_default"))
    policy_version = serializers.IntegerField(source="policy.version")
    decision_id = serializers.IntegerField(source="pk", help_text=_("This verdict's log entry"))
    self_heal_request = SelfHealRequestBrief(allow_null=True)


def verdict_answer(verdict: ToolVerdict) -> dict:
    """``ToolVerdictOutput``'s rendering, written out: every tool call waits on it, and DRF
    copies and binds each field per response. tests/repairs/test_tool_verdicts_api.py holds
    the two equal."""
    request = verdict.self_heal_request
    return {
        "verdict": verdict.verdict,
        "reason": verdict.reason,
        "action": verdict.action,
        "target": verdict.target,
        "rule": verdict.rule,
        "policy_version": verdict.policy.version,
        "decision_id": verdict.pk,
        "self_heal_request": None
        if request is None
        else {
            "id": request.pk,
            "status": request.status,
            "expires_at": _DATETIME.to_representation(request.expires_at),
        },
    }


_DATETIME = serializers.DateTimeField()


class ToolVerdictLogOutput(ToolVerdictOutput):
    worker = serializers.CharField(source="worker.name")
    agent = serializers.CharField()
    session_id = serializers.CharField()
    tool_use_id = serializers.CharField()
    tool_name = serializers.CharField()
    tool_input = serializers.CharField(help_text=_("As JSON, redacted"))
    cwd = serializers.CharField()
    digest = serializers.CharField()
    job = serializers.CharField(source="job_ref")
    created_at = serializers.DateTimeField()


class ToolVerdictFilter(django_filters.FilterSet):
    verdict = django_filters.ChoiceFilter(
        choices=[(name, name) for name in (ladder.ALLOWED, ladder.NEEDS_APPROVAL, ladder.DENIED)]
    )
    worker = django_filters.CharFilter(field_name="worker__name")
    rule = django_filters.CharFilter()
    since = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = ToolVerdict
        fields = ["verdict", "worker", "rule", "since"]


class ToolVerdictListCreateApi(ExportableList):
    """Workers ask for a verdict on a tool call before it runs; the verdict log is read
    back (a worker: its own) as JSON, NDJSON or CSV."""

    export_name = "tool-verdicts"

    permission_classes = [RolePermissions]
    serializer_class = ToolVerdictLogOutput
    filterset_class = ToolVerdictFilter
    pagination_class = NewestFirst
    queryset = ToolVerdict.objects.none()

    def get_queryset(self):
        return tool_verdict_list(user=self.request.user)

    @extend_schema(
        request=ToolVerdictInput,
        responses={
            200: ToolVerdictOutput,
            404: OpenApiResponse(description="The job named is not registered"),
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        started = time.perf_counter()
        worker = worker_for_user(request.user)
        if worker is None:
            raise exceptions.PermissionDenied(_("Only workers ask for tool verdicts."))
        payload = ToolVerdictInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        call = ToolCall(
            tool_name=data["tool_name"],
            tool_input=data["tool_input"],
            agent=data["agent"],
            session_id=data.get("session_id", ""),
            tool_use_id=data.get("tool_use_id", ""),
            cwd=data.get("cwd", ""),
            job=data.get("job", ""),
        )
        verdict = tool_verdict_give(worker=worker, call=call, token=request.auth)
        response = Response(verdict_answer(verdict))
        tool_verdict_latency.labels(decision=verdict.verdict).observe(time.perf_counter() - started)
        return response
