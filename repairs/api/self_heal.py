import django_filters
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exports import ExportableList
from core.openapi import request_examples
from core.pagination import NewestFirst
from core.permissions import RolePermissions, requires
from repairs.models import SelfHealRequest
from repairs.selectors import self_heal_request_list
from repairs.services import self_heal_request_decide


class SelfHealRequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    event = serializers.IntegerField(source="event_id")
    worker = serializers.CharField(source="worker.name")
    job = serializers.CharField(source="event.job_ref", allow_null=True)
    action = serializers.CharField()
    target = serializers.CharField(help_text=_("What the worker named (default: the job)"))
    resources = serializers.ListField(
        child=serializers.CharField(),
        help_text=_(
            "Every resource the action touches, as judged; approving it approves these and "
            "nothing else"
        ),
    )
    risk = serializers.CharField()
    reason = serializers.CharField()
    approver_role = serializers.CharField()
    status = serializers.ChoiceField(choices=SelfHealRequest.Status.choices)
    decided_by = serializers.CharField(source="decided_by.username", default=None, allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    callback_url = serializers.CharField()
    callback_delivered_at = serializers.DateTimeField(allow_null=True)


class SelfHealRequestFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=SelfHealRequest.Status.choices)
    worker = django_filters.CharFilter(field_name="worker__name")
    approver_role = django_filters.CharFilter()

    class Meta:
        model = SelfHealRequest
        fields = ["status", "worker", "approver_role"]


class SelfHealRequestListApi(ExportableList):
    """Self-heal requests: a worker sees its own, people with the view right see all (also
    as NDJSON or CSV: ``?format=ndjson`` / ``?format=csv``)."""

    export_name = "self-heal-requests"

    permission_classes = [RolePermissions]
    serializer_class = SelfHealRequestOutput
    filterset_class = SelfHealRequestFilter
    pagination_class = NewestFirst
    queryset = SelfHealRequest.objects.none()

    def get_queryset(self):
        return self_heal_request_list(user=self.request.user)


class SelfHealRequestDetailApi(generics.RetrieveAPIView):
    """Poll one request (a worker: only its own; another's is 404)."""

    permission_classes = [RolePermissions]
    serializer_class = SelfHealRequestOutput
    queryset = SelfHealRequest.objects.none()

    def get_queryset(self):
        return self_heal_request_list(user=self.request.user)


@request_examples(
    (_("Approve with a note"), {"note": "Fine: the job is idle since 09:10"}),
)
class SelfHealDecisionInput(serializers.Serializer):
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


@request_examples(
    (_("Reject, saying why"), {"note": "Wait for the nightly deploy to finish"}),
)
class SelfHealRejectInput(SelfHealDecisionInput):
    note = serializers.CharField(max_length=4000, help_text="Why; the worker reads it")


def _decide(request: Request, pk: int, *, approve: bool) -> Response:
    payload = (SelfHealDecisionInput if approve else SelfHealRejectInput)(data=request.data)
    payload.is_valid(raise_exception=True)
    heal_request = get_object_or_404(self_heal_request_list(user=request.user), pk=pk)
    decided = self_heal_request_decide(
        request=heal_request,
        user=request.user,
        approve=approve,
        note=payload.validated_data["note"],
    )
    return Response(SelfHealRequestOutput(decided).data)


class SelfHealApproveApi(APIView):
    """Approve (the role the policy names; never the requester, never a worker)."""

    permission_classes = [requires("repairs.change_selfhealrequest")]

    @extend_schema(request=SelfHealDecisionInput, responses=SelfHealRequestOutput)
    def post(self, request: Request, pk: int) -> Response:
        return _decide(request, pk, approve=True)


class SelfHealRejectApi(APIView):
    """Reject with a note (the role the policy names; never the requester, never a worker)."""

    permission_classes = [requires("repairs.change_selfhealrequest")]

    @extend_schema(request=SelfHealRejectInput, responses=SelfHealRequestOutput)
    def post(self, request: Request, pk: int) -> Response:
        return _decide(request, pk, approve=False)
