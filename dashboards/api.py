from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.permissions import requires
from dashboards import milestones
from dashboards.scorecard import MAX_DAYS, build_scorecard


class ScorecardInput(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=MAX_DAYS, default=7)


def _counts(help_text: str) -> serializers.DictField:
    return serializers.DictField(child=serializers.IntegerField(), help_text=help_text)


class WindowOutput(serializers.Serializer):
    days = serializers.IntegerField()
    since = serializers.DateTimeField(
        help_text="Midnight of the window's first day in the console's zone (PLS_TIME_ZONE)"
    )
    until = serializers.DateTimeField()


class ErrorClassOutput(serializers.Serializer):
    error_class = serializers.CharField()
    count = serializers.IntegerField()


class DayOutput(serializers.Serializer):
    day = serializers.DateField()
    count = serializers.IntegerField()


class EventsOutput(serializers.Serializer):
    total = serializers.IntegerField()
    by_gate = _counts("Every gate, 0 included")
    by_error_class = ErrorClassOutput(many=True, help_text="The top 10, most frequent first")
    by_decision = _counts("The policy's verdicts on the actions workers asked for")
    per_day = DayOutput(many=True)
    live_tail = serializers.IntegerField(
        help_text="Events newer than the rollup, counted live (a backlog means the beat "
        "task is not running)"
    )


class RetriesOutput(serializers.Serializer):
    allowed = serializers.IntegerField(help_text="Retries the policy allowed")
    resolved = serializers.IntegerField()
    failed = serializers.IntegerField()
    no_outcome = serializers.IntegerField(help_text="Allowed retries with no outcome yet")
    success_rate = serializers.FloatField(
        allow_null=True, help_text="resolved / (resolved + failed); null without outcomes"
    )


class StuckClaimsOutput(serializers.Serializer):
    detected = serializers.IntegerField(help_text="stuck_claim events")
    lease_expired = serializers.IntegerField()
    other = serializers.IntegerField()
    resolved = serializers.IntegerField()
    mean_seconds_to_resolution = serializers.FloatField(allow_null=True)


class ArtifactGuardOutput(serializers.Serializer):
    checks_passed = serializers.IntegerField()
    checks_failed = serializers.IntegerField(help_text="Failed, or ended in an error")
    checks_by_status = _counts("passed, failed, error and in_progress")
    completions_blocked = serializers.IntegerField(
        help_text="artifact_guard events with error class completion_blocked"
    )


class LatencyOutput(serializers.Serializer):
    decided = serializers.IntegerField(help_text="Requests approved or rejected")
    median_seconds = serializers.FloatField(allow_null=True)
    p90_seconds = serializers.FloatField(allow_null=True, help_text="Nearest rank")


class SelfHealOutput(serializers.Serializer):
    by_status = _counts("Requests raised in the window, by status")
    approval_latency = LatencyOutput()


class RuleCountOutput(serializers.Serializer):
    rule = serializers.CharField(help_text="A tool rule's name, or tool_default")
    count = serializers.IntegerField()


class ToolVerdictsOutput(serializers.Serializer):
    total = serializers.IntegerField(help_text="Tool-call verdicts given in the window")
    by_decision = _counts("allowed, needs_approval, denied")
    by_rule = RuleCountOutput(many=True, help_text="By the rule that matched, most first")


class ProposalsOutput(serializers.Serializer):
    adopted = serializers.IntegerField(help_text="Adopted by a decision in the window")
    rejected = serializers.IntegerField(help_text="Rejected by a decision in the window")
    open = serializers.IntegerField(help_text="Undecided now (open or deferred)")


class BudgetOutput(serializers.Serializer):
    spent_cents = serializers.IntegerField(help_text="This month, workers with a budget")
    budget_cents = serializers.IntegerField()
    use = serializers.FloatField(allow_null=True)
    workers_with_budget = serializers.IntegerField()
    workers_over_80_percent = serializers.IntegerField()
    workers_over_100_percent = serializers.IntegerField()


class WorkersOutput(serializers.Serializer):
    by_status = _counts("Every status, 0 included")
    budget = BudgetOutput()


class ScorecardOutput(serializers.Serializer):
    window = WindowOutput()
    events = EventsOutput()
    retries = RetriesOutput()
    stuck_claims = StuckClaimsOutput()
    artifact_guard = ArtifactGuardOutput()
    self_heal = SelfHealOutput()
    tool_verdicts = ToolVerdictsOutput()
    proposals = ProposalsOutput()
    learning = _counts("Learning memory updates created in the window, by kind")
    workers = WorkersOutput()


class ScorecardApi(APIView):
    """The reliability scorecard of the last ``days`` calendar days (the console's zone,
    ``PLS_TIME_ZONE``, today included).

    People in every human role may read it; workers may not (it shows the whole fleet)."""

    permission_classes = [requires("dashboards.view_scorecard")]

    @extend_schema(
        parameters=[OpenApiParameter("days", int, description=f"1 to {MAX_DAYS}; default 7")],
        responses=ScorecardOutput,
    )
    def get(self, request: Request) -> Response:
        payload = ScorecardInput(data=request.query_params)
        payload.is_valid(raise_exception=True)
        card = build_scorecard(days=payload.validated_data["days"])
        return Response(ScorecardOutput(card).data)


class CheckOutput(serializers.Serializer):
    label = serializers.CharField()
    done = serializers.BooleanField()
    at = serializers.DateTimeField(
        allow_null=True, help_text="When the records first met it; null until they do"
    )
    detail = serializers.CharField(help_text="What the records show, e.g. `decision #3`")
    records = serializers.CharField(
        allow_blank=True,
        help_text="The console page listing the records behind the check (absolute URL); "
        "blank when the console does not show them",
    )


class MilestoneOutput(serializers.Serializer):
    key = serializers.ChoiceField(choices=["D1", "D7", "D14", "D30"])
    title = serializers.CharField()
    state = serializers.ChoiceField(choices=["reached", "overdue", "open"])
    due = serializers.DateTimeField(
        allow_null=True, help_text="Days after the interim policy was published; null before"
    )
    reached_at = serializers.DateTimeField(allow_null=True)
    checks = CheckOutput(many=True)


class MilestonesOutput(serializers.Serializer):
    accepted = serializers.BooleanField(help_text="Every D7 acceptance check is met")
    acceptance = CheckOutput(many=True, help_text="The D7 acceptance checks")
    milestones = MilestoneOutput(many=True)


def _check(request: Request, check: milestones.Check) -> dict:
    url = check.url
    if url.startswith("#"):  # a panel of the console home
        url = reverse("admin:index") + url
    return {
        "label": check.label,
        "done": check.done,
        "at": check.at,
        "detail": check.detail,
        "records": request.build_absolute_uri(url) if url else "",
    }


class MilestonesApi(APIView):
    """The D7 acceptance checks and the D1 / D7 / D14 / D30 milestones, as the console home
    shows them (``dashboards.milestones``: one source). People in every human role may read
    them; workers may not."""

    permission_classes = [requires("dashboards.view_scorecard")]

    @extend_schema(responses=MilestonesOutput)
    def get(self, request: Request) -> Response:
        now = timezone.now()
        acceptance = milestones.d7_acceptance()
        body = {
            "accepted": all(check.done for check in acceptance),
            "acceptance": [_check(request, check) for check in acceptance],
            "milestones": [
                {
                    "key": milestone.key,
                    "title": milestone.title,
                    "state": milestone.state(now),
                    "due": milestone.due,
                    "reached_at": milestone.reached_at,
                    "checks": [_check(request, check) for check in milestone.checks],
                }
                for milestone in milestones.milestones(acceptance)
            ],
        }
        return Response(MilestonesOutput(body).data)
