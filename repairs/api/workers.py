"""A worker's view of itself: status, budget and spend, and its usage reports."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.idempotency import idempotent
from core.money import currency
from repairs.models import Job, Worker
from repairs.selectors import worker_for_user
from repairs.services import budget_month_of, month_spend, worker_usage_add

# One report larger than this ($10M) is a bug in the worker, not spend.
MAX_USAGE_CENTS = 1_000_000_000


class IsWorker(BasePermission):
    message = "Only workers have a /workers/me (a worker token)."

    def has_permission(self, request, view) -> bool:  # type: ignore[no-untyped-def]
        user = request.user
        return bool(user and user.is_authenticated and worker_for_user(user) is not None)


class WorkerOutput(serializers.Serializer):
    name = serializers.CharField()
    team = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    paused_reason = serializers.CharField()
    last_heartbeat_at = serializers.DateTimeField(allow_null=True)
    currency = serializers.SerializerMethodField(
        help_text="ISO 4217 code of every amount here (PLS_CURRENCY); amounts are its hundredths"
    )
    monthly_budget_cents = serializers.IntegerField(help_text="0 = no budget set")
    month_spend_cents = serializers.SerializerMethodField(help_text="In the current budget month")
    budget_month = serializers.SerializerMethodField(
        help_text="Its 1st; months begin at midnight in the console's zone (PLS_TIME_ZONE)"
    )
    budget_used_percent = serializers.SerializerMethodField()
    held_jobs = serializers.SerializerMethodField(help_text="Claimed or stuck jobs it holds")

    def get_currency(self, worker: Worker) -> str:
        return currency()

    def get_month_spend_cents(self, worker: Worker) -> int:
        return month_spend(worker)

    def get_budget_month(self, worker: Worker) -> str:
        return budget_month_of(self.context["now"]).isoformat()

    def get_budget_used_percent(self, worker: Worker) -> float | None:
        if not worker.monthly_budget_cents:
            return None
        return round(month_spend(worker) * 100 / worker.monthly_budget_cents, 1)

    def get_held_jobs(self, worker: Worker) -> list[str]:
        return list(
            Job.objects.filter(claimed_by=worker, status__in=[Job.Status.CLAIMED, Job.Status.STUCK])
            .order_by("claimed_at")
            .values_list("external_id", flat=True)
        )


class UsageInput(serializers.Serializer):
    cents = serializers.IntegerField(
        min_value=1, max_value=MAX_USAGE_CENTS, help_text="Spend to add, in cents"
    )


class UsageOutput(WorkerOutput):
    warned = serializers.BooleanField(help_text="This report crossed the warning share")
    paused = serializers.BooleanField(help_text="The worker is paused (see paused_reason)")


def _context() -> dict:
    return {"now": timezone.now()}


class WorkerMeApi(APIView):
    """The calling worker: status, pause reason, budget, spend this month, held jobs."""

    permission_classes = [IsWorker]

    @extend_schema(responses=WorkerOutput)
    def get(self, request: Request) -> Response:
        worker = Worker.objects.get(pk=request.user.worker.pk)
        return Response(WorkerOutput(worker, context=_context()).data)


class WorkerUsageApi(APIView):
    """Adds spend (cents) to the calling worker's budget month. At 80 % the owner is warned
    once a month; at 100 % the worker is paused, and this answer says so."""

    permission_classes = [IsWorker]

    @extend_schema(request=UsageInput, responses=UsageOutput)
    @idempotent
    def post(self, request: Request) -> Response:
        payload = UsageInput(data=request.data)
        payload.is_valid(raise_exception=True)
        recorded = worker_usage_add(
            worker=request.user.worker, cents=payload.validated_data["cents"]
        )
        worker = recorded.worker
        body = {
            **WorkerOutput(worker, context=_context()).data,
            "warned": recorded.warned,
            "paused": worker.status == Worker.Status.PAUSED,
        }
        return Response(body)
