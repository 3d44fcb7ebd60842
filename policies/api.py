from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import django_filters
from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exports import ExportableList
from core.openapi import request_examples
from core.pagination import NewestFirst
from core.permissions import RolePermissions, requires
from core.roles import PLS_OWNER, RISK_REVIEWER
from policies import ladder
from policies.models import (
    NO_APPROVAL,
    REMINDER_KINDS,
    PolicyDecision,
    Proposal,
    WorkerPolicy,
    json_value,
    policy_values,
)
from policies.selectors import decision_list, policy_current, proposal_list
from policies.services import policy_change, proposal_decide
from policies.simulation import (
    past_actions,
    past_tool_calls,
    policy_draft,
    simulate,
    simulate_tool_calls,
)
from policies.tool_rules import rules_problems

MAX_WINDOW = timedelta(days=30)
APPROVER_ROLES = (RISK_REVIEWER, PLS_OWNER, NO_APPROVAL)


class PolicyFieldsInput(serializers.Serializer):
    """A full or partial worker policy, as a change or a draft to simulate. Durations are
    seconds. Fields it does not know are refused rather than ignored."""

    max_auto_retries = serializers.IntegerField(min_value=0, max_value=10, required=False)
    allow_auto_touch = serializers.BooleanField(required=False)
    auto_proposal_threshold = serializers.IntegerField(
        min_value=0, max_value=1000, required=False, help_text="0 turns automatic proposals off"
    )
    repeat_window = serializers.IntegerField(
        min_value=60, max_value=int(MAX_WINDOW.total_seconds()), required=False, help_text="seconds"
    )
    approval_ttl = serializers.IntegerField(
        min_value=60, max_value=int(MAX_WINDOW.total_seconds()), required=False, help_text="seconds"
    )
    approval_matrix = serializers.DictField(
        child=serializers.ChoiceField(choices=APPROVER_ROLES),
        required=False,
        help_text="action → role that approves it; any of "
        + ", ".join((*ladder.RISKY, *ladder.BUDGETED))
        + f'. "{NO_APPROVAL}" lets a risky action through without approval.',
    )
    approval_reminders = serializers.DictField(
        child=serializers.DictField(
            child=serializers.IntegerField(
                min_value=60, max_value=int(MAX_WINDOW.total_seconds()), allow_null=True
            )
        ),
        required=False,
        help_text="action → {remind_after, escalate_after}: seconds after it was raised at "
        "which an unanswered request is re-announced to its approving role, and escalated to "
        "the escalation role (PLS_ESCALATION_ROLE) as well; null never.",
    )
    protected_resources = serializers.ListField(
        child=serializers.CharField(max_length=200),
        max_length=100,
        required=False,
        help_text=_(
            "Glob patterns of targets no worker acts on. Must keep every pattern of the "
            "protection floor (protected_floor, from PLS_PROTECTED_FLOOR): a policy adds "
            "patterns, never drops the floor's."
        ),
    )

    tool_rules = serializers.ListField(
        child=serializers.DictField(),
        max_length=200,
        required=False,
        help_text=_(
            "Ordered rules reading an agent's tool call as a ladder action; the first match "
            "decides. Each: name, tool (regex over the tool name), input (regex over the "
            "command, path or URL), action, target (a named group of input), must_match and "
            "must_not_match (examples checked when saved)."
        ),
    )
    tool_default = serializers.ChoiceField(
        choices=ladder.KNOWN_ACTIONS,
        required=False,
        help_text=_("The ladder action a tool call no rule matches is judged as"),
    )

    def to_internal_value(self, data: Any) -> dict:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [gettext("Not a field of the worker policy.")] for name in unknown}
                )
        return policy_values(super().to_internal_value(data))

    def validate_tool_rules(self, rules: list[dict]) -> list[dict]:
        problems = rules_problems(rules, ladder.KNOWN_ACTIONS)
        if problems:
            raise serializers.ValidationError(problems)
        return rules

    def validate_approval_matrix(self, matrix: dict[str, str]) -> dict[str, str]:
        forbidden = sorted(set(matrix) & set(ladder.FORBIDDEN))
        if forbidden:
            raise serializers.ValidationError(
                gettext("%(actions)s can never be approved: it is denied under every policy.")
                % {"actions": ", ".join(forbidden)}
            )
        _refuse_unapprovable(matrix)
        unbounded = sorted(
            action
            for action, role in matrix.items()
            if role == NO_APPROVAL and action in ladder.BUDGETED
        )
        if unbounded:
            raise serializers.ValidationError(
                gettext(
                    '%(actions)s over budget always needs approval; "%(no_approval)s" is for '
                    "risky actions only."
                )
                % {"actions": ", ".join(unbounded), "no_approval": NO_APPROVAL}
            )
        return matrix

    def validate_approval_reminders(
        self, reminders: dict[str, dict[str, int | None]]
    ) -> dict[str, dict[str, int | None]]:
        _refuse_unapprovable(reminders)
        for action, timing in reminders.items():
            strange = sorted(set(timing) - set(REMINDER_KINDS))
            if strange:
                raise serializers.ValidationError(
                    gettext("%(action)s: %(keys)s is not one of %(kinds)s.")
                    % {
                        "action": action,
                        "keys": ", ".join(strange),
                        "kinds": ", ".join(REMINDER_KINDS),
                    }
                )
            remind, escalate = timing.get("remind_after"), timing.get("escalate_after")
            if remind and escalate and escalate <= remind:
                raise serializers.ValidationError(
                    gettext(
                        "%(action)s: escalate_after (%(escalate)s s) must come after "
                        "remind_after (%(remind)s s)."
                    )
                    % {"action": action, "escalate": escalate, "remind": remind}
                )
        return {
            action: {kind: timing.get(kind) for kind in REMINDER_KINDS}
            for action, timing in reminders.items()
        }


def _refuse_unapprovable(actions: Iterable[str]) -> None:
    approvable = set(ladder.RISKY) | set(ladder.BUDGETED)
    unknown = sorted(set(actions) - approvable)
    if unknown:
        raise serializers.ValidationError(
            gettext("Not actions that can need approval: %(actions)s. Use any of %(known)s.")
            % {"actions": ", ".join(unknown), "known": ", ".join(sorted(approvable))}
        )


@request_examples(
    (
        _("Allow two retries"),
        {"max_auto_retries": 2, "rationale": "Context fetches recover on a second try"},
    ),
)
class PolicyChangeInput(PolicyFieldsInput):
    rationale = serializers.CharField(max_length=4000, help_text="Why; kept in the decision record")


class PolicyOutput(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    is_current = serializers.SerializerMethodField()
    max_auto_retries = serializers.IntegerField()
    allow_auto_touch = serializers.BooleanField()
    auto_proposal_threshold = serializers.IntegerField()
    repeat_window = serializers.SerializerMethodField(help_text="seconds")
    approval_ttl = serializers.SerializerMethodField(help_text="seconds")
    approval_matrix = serializers.DictField(child=serializers.CharField())
    approval_reminders = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField(allow_null=True))
    )
    protected_resources = serializers.ListField(child=serializers.CharField())
    protected_floor = serializers.SerializerMethodField(
        help_text=_("Patterns protected whatever the policy lists (PLS_PROTECTED_FLOOR)")
    )
    tool_rules = serializers.ListField(child=serializers.DictField())
    tool_default = serializers.CharField()
    known_repairs = serializers.ListField(child=serializers.DictField())
    answered_questions = serializers.DictField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(source="created_by.username", default=None, allow_null=True)

    def get_is_current(self, policy: WorkerPolicy) -> bool:
        return policy.pk == policy_current().pk

    def get_protected_floor(self, policy: WorkerPolicy) -> list[str]:
        return ladder.protected_floor()

    def get_repeat_window(self, policy: WorkerPolicy) -> int:
        return json_value(policy.repeat_window)

    def get_approval_ttl(self, policy: WorkerPolicy) -> int:
        return json_value(policy.approval_ttl)


class DecisionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    proposal = serializers.IntegerField(source="proposal_id", allow_null=True)
    decision = serializers.CharField()
    rationale = serializers.CharField()
    decided_by = serializers.CharField(source="decided_by.username")
    policy_before = serializers.IntegerField(
        source="policy_before.version", default=None, allow_null=True
    )
    policy_after = serializers.IntegerField(
        source="policy_after.version", default=None, allow_null=True
    )
    changes = serializers.DictField()
    decided_at = serializers.DateTimeField()


class PolicyChangeOutput(serializers.Serializer):
    decision = DecisionOutput()
    policy = PolicyOutput(help_text="The version the change wrote")


class PolicyCurrentApi(APIView):
    """The policy every verdict is given by right now; workers read it too."""

    permission_classes = [requires("policies.view_workerpolicy")]

    @extend_schema(responses=PolicyOutput)
    def get(self, request: Request) -> Response:
        return Response(PolicyOutput(policy_current()).data)


class PolicyVersionApi(APIView):
    """One version; PATCH (owner only) writes the next version from it."""

    permission_classes = [RolePermissions]
    queryset = WorkerPolicy.objects.none()  # for RolePermissions' model lookup

    @extend_schema(responses=PolicyOutput)
    def get(self, request: Request, pk: int) -> Response:
        return Response(PolicyOutput(get_object_or_404(WorkerPolicy, pk=pk)).data)

    @extend_schema(request=PolicyChangeInput, responses={200: PolicyChangeOutput})
    def patch(self, request: Request, pk: int) -> Response:
        policy = get_object_or_404(WorkerPolicy, pk=pk)
        payload = PolicyChangeInput(data=request.data)
        payload.is_valid(raise_exception=True)
        changes = dict(payload.validated_data)
        rationale = changes.pop("rationale")
        decision = policy_change(
            policy=policy, changes=changes, rationale=rationale, user=request.user
        )
        return Response(
            {
                "decision": DecisionOutput(decision).data,
                "policy": PolicyOutput(decision.policy_after).data,
            }
        )


class ProposalOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    title = serializers.CharField()
    detail = serializers.CharField()
    question_key = serializers.CharField()
    fingerprint = serializers.CharField()
    error_class = serializers.CharField()
    occurrences = serializers.IntegerField()
    affected_workers = serializers.ListField(child=serializers.CharField())
    policy_change = serializers.DictField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ProposalFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Proposal.Kind.choices)
    status = django_filters.ChoiceFilter(choices=Proposal.Status.choices)

    class Meta:
        model = Proposal
        fields = ["kind", "status"]


class ProposalListApi(generics.ListAPIView):
    permission_classes = [RolePermissions]
    serializer_class = ProposalOutput
    filterset_class = ProposalFilter
    pagination_class = NewestFirst
    queryset = Proposal.objects.none()

    def get_queryset(self):
        return proposal_list()


class ProposalDetailApi(generics.RetrieveAPIView):
    permission_classes = [RolePermissions]
    serializer_class = ProposalOutput
    queryset = Proposal.objects.all()


@request_examples(
    (_("Adopt"), {"decision": "adopt", "rationale": "Seen 5 times this week"}),
)
class ProposalDecideInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=PolicyDecision.Decision.choices)
    rationale = serializers.CharField(max_length=4000)
    policy_change = PolicyFieldsInput(
        required=False, help_text="Policy fields to set; default: the proposal's own change"
    )
    fix = serializers.CharField(
        max_length=4000,
        required=False,
        allow_blank=True,
        default="",
        help_text="For a repair: the fix workers should apply (default: the rationale)",
    )


class ProposalDecideApi(APIView):
    """Adopt, reject or defer a proposal (owner or risk reviewer; questions: owner only)."""

    permission_classes = [requires("policies.change_proposal")]

    @extend_schema(request=ProposalDecideInput, responses={200: DecisionOutput})
    def post(self, request: Request, pk: int) -> Response:
        proposal = get_object_or_404(Proposal, pk=pk)
        payload = ProposalDecideInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        decision = proposal_decide(
            proposal=proposal,
            user=request.user,
            decision=data["decision"],
            rationale=data["rationale"],
            policy_change=data.get("policy_change"),
            fix=data["fix"],
        )
        return Response(DecisionOutput(decision).data, status=status.HTTP_200_OK)


class DecisionListApi(ExportableList):
    """The decision records, newest first. Append-only. Also as NDJSON or CSV
    (``?format=ndjson`` / ``?format=csv``)."""

    export_name = "worker-policy-decisions"

    permission_classes = [RolePermissions]
    serializer_class = DecisionOutput
    pagination_class = NewestFirst
    queryset = PolicyDecision.objects.none()

    def get_queryset(self):
        return decision_list()


@request_examples(
    (_("What if three retries were allowed"), {"policy": {"max_auto_retries": 3}, "days": 7}),
)
class PolicySimulateInput(serializers.Serializer):
    policy = PolicyFieldsInput(help_text="The draft: any policy fields; the rest stay current")
    days = serializers.IntegerField(min_value=1, max_value=90, default=7)


class PolicySimulateApi(APIView):
    """Replays the window's actions through a draft policy, next to what was decided; the
    recorded tool calls (the verdict log) are replayed through its tool rules too
    (``tool_calls``)."""

    permission_classes = [requires("policies.simulate_workerpolicy")]

    @extend_schema(request=PolicySimulateInput, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        payload = PolicySimulateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        base = policy_current()
        since = timezone.now() - timedelta(days=data["days"])
        actions, truncated = past_actions(since=since, limit=settings.PLS_SIMULATION_MAX_EVENTS)
        draft = policy_draft(base, data["policy"])
        result = simulate(draft, actions)
        calls, calls_truncated = past_tool_calls(
            since=since, limit=settings.PLS_SIMULATION_MAX_EVENTS
        )
        return Response(
            {
                "base_version": base.version,
                "days": data["days"],
                "since": since,
                "truncated": truncated,
                **result,
                "tool_calls": {
                    "truncated": calls_truncated,
                    **simulate_tool_calls(draft, calls),
                },
            }
        )
