"""Jobs, claims and leases over HTTP. Owners (or a system token with ``add_job``) register
jobs; workers claim, heartbeat, release and reclaim them."""

import re
from dataclasses import replace

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.idempotency import idempotent
from core.openapi import ProblemOutput, request_examples
from core.pagination import NewestFirst
from core.permissions import RolePermissions
from repairs.api.events import VerdictOutput
from repairs.models import Job
from repairs.selectors import job_list, worker_for_user
from repairs.services import (
    JobAction,
    job_claim,
    job_claim_next,
    job_create,
    job_heartbeat,
    job_reclaim,
    job_release,
)

# A paused worker (by its owner, or at 100 % of its budget) takes no new work.
_PAUSED = OpenApiResponse(ProblemOutput, description="The worker is paused; see paused_reason")

# Ids travel in URL paths: visible characters without "/" (and not the claim-next route).
EXTERNAL_ID = re.compile(r"^[\x21-\x2e\x30-\x7e]{1,200}$")


class ActsAsWorker(BasePermission):
    """Claims belong to workers: a worker token whose user may change jobs (the ``worker``
    role). People govern jobs in the console; they do not claim them."""

    message = "Only workers claim, heartbeat, release and reclaim jobs (a worker token)."

    def has_permission(self, request, view) -> bool:  # type: ignore[no-untyped-def]
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and worker_for_user(user) is not None
            and user.has_perm("repairs.change_job")
        )


@request_examples(
    (_("A job to claim"), {"external_id": "PLS-142", "title": "Fix the login", "priority": "high"}),
)
class JobInput(serializers.Serializer):
    external_id = serializers.CharField(max_length=200, help_text="The job's id in PLS")
    title = serializers.CharField(max_length=300)
    priority = serializers.ChoiceField(choices=Job.Priority.choices, default=Job.Priority.MEDIUM)

    def validate_external_id(self, value: str) -> str:
        if not EXTERNAL_ID.match(value) or value == "claim-next":
            raise serializers.ValidationError(
                _("Use 1 to 200 visible ASCII characters without '/' (it is part of URLs).")
            )
        return value


class JobOutput(serializers.Serializer):
    """A job. Another worker's job, read by a worker, shows only its id and status: every
    other field is null (``repairs.selectors.job_list``)."""

    external_id = serializers.CharField()
    title = serializers.CharField(allow_null=True)
    priority = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    holder = serializers.CharField(source="claimed_by.name", default=None, allow_null=True)
    claimed_at = serializers.DateTimeField(allow_null=True)
    lease_expires_at = serializers.DateTimeField(allow_null=True)
    attempts = serializers.IntegerField(allow_null=True)
    progress = serializers.CharField(allow_null=True)
    stuck_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, job: Job) -> dict:
        shown = super().to_representation(job)
        if getattr(job, "shown_in_full", True):
            return shown
        return {name: shown[name] if name in _STATUS_ONLY else None for name in shown}


_STATUS_ONLY = ("external_id", "status")


@request_examples(
    (_("Still working"), {"progress": "Running the test suite (120 of 300)"}),
)
class HeartbeatInput(serializers.Serializer):
    progress = serializers.CharField(
        max_length=4000,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="What the worker is doing now; redacted, kept as the evidence of a stuck claim",
    )


@request_examples(
    (
        _("Why, with a callback for the decision"),
        {
            "message": "The holder stopped answering",
            "callback_url": "https://worker-7.example.com/pls/decisions",
        },
    ),
)
class JobActionInput(serializers.Serializer):
    message = serializers.CharField(
        max_length=4000, required=False, allow_blank=True, default="", help_text="Why"
    )
    evidence = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False
    )
    callback_url = serializers.URLField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="Receives a signed POST when the self-heal request is decided",
    )


class JobActionOutput(serializers.Serializer):
    job = JobOutput()
    done = serializers.BooleanField(help_text="Whether the release / reclaim happened now")
    event = serializers.IntegerField(source="event.pk")
    verdict = VerdictOutput(source="event.verdict")
    self_heal_request = serializers.IntegerField(source="request.pk", default=None, allow_null=True)
    self_heal_request_status = serializers.CharField(
        source="request.status", default=None, allow_null=True
    )


class JobFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Job.Status.choices)
    priority = django_filters.ChoiceFilter(choices=Job.Priority.choices)
    holder = django_filters.CharFilter(field_name="claimed_by__name")

    class Meta:
        model = Job
        fields = ["status", "priority", "holder"]


class JobListCreateApi(generics.ListAPIView):
    """The queue. People read every job; a worker, the open jobs and its own. The owner (or
    a token whose user holds ``repairs.add_job``) registers jobs."""

    permission_classes = [RolePermissions]
    serializer_class = JobOutput
    filterset_class = JobFilter
    pagination_class = NewestFirst
    queryset = Job.objects.none()  # for RolePermissions' model lookup

    def get_queryset(self):
        return job_list(user=self.request.user).filter(shown_in_full=True)

    @extend_schema(request=JobInput, responses={201: JobOutput})
    def post(self, request: Request) -> Response:
        payload = JobInput(data=request.data)
        payload.is_valid(raise_exception=True)
        job = job_create(**payload.validated_data, by=request.user)
        return Response(JobOutput(job).data, status=status.HTTP_201_CREATED)


class JobDetailApi(generics.RetrieveAPIView):
    """One job; another worker's, read by a worker, shows only its status."""

    permission_classes = [RolePermissions]
    serializer_class = JobOutput
    queryset = Job.objects.none()  # for RolePermissions' model lookup
    lookup_field = "external_id"

    def get_queryset(self):
        return job_list(user=self.request.user)


class JobClaimNextApi(APIView):
    """The oldest open job of the highest priority, leased to the calling worker; 204 when
    the queue is empty; 423 while the worker is paused."""

    permission_classes = [ActsAsWorker]

    @extend_schema(
        request=None,
        responses={
            200: JobOutput,
            204: OpenApiResponse(description="Nothing to claim"),
            423: _PAUSED,
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        job = job_claim_next(worker=request.user.worker)
        if job is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(JobOutput(job).data)


class JobClaimApi(APIView):
    """Claims one job (the holder renews its lease). 409 while another worker holds it;
    404 naming the recorded stuck_claim event when no such job is registered."""

    permission_classes = [ActsAsWorker]

    @extend_schema(request=None, responses={200: JobOutput, 423: _PAUSED})
    @idempotent
    def post(self, request: Request, external_id: str) -> Response:
        job = job_claim(worker=request.user.worker, external_id=external_id, token=request.auth)
        return Response(JobOutput(job).data)


class JobHeartbeatApi(APIView):
    """The holder renews its lease and records its progress."""

    permission_classes = [ActsAsWorker]

    @extend_schema(request=HeartbeatInput, responses=JobOutput)
    @idempotent
    def post(self, request: Request, external_id: str) -> Response:
        payload = HeartbeatInput(data=request.data)
        payload.is_valid(raise_exception=True)
        job = job_heartbeat(
            worker=request.user.worker,
            external_id=external_id,
            progress=payload.validated_data.get("progress"),
        )
        return Response(JobOutput(job).data)


def _answer(request: Request, action: JobAction) -> Response:
    # 200: done now; 202: accepted for approval, poll the self-heal request.
    code = status.HTTP_200_OK if action.done else status.HTTP_202_ACCEPTED
    # A reclaim waiting for approval is of another worker's job: shown as any read shows it.
    shown = replace(action, job=job_list(user=request.user).get(pk=action.job.pk))
    return Response(JobActionOutput(shown).data, status=code)


_ACTION_RESPONSES = {
    200: JobActionOutput,
    202: OpenApiResponse(
        JobActionOutput, description="Needs approval: poll the self-heal request it names"
    ),
}


class JobReleaseApi(APIView):
    """The holder gives its job back, as the policy allows: 200 released; 202 waiting for
    approval (the release happens when it is approved); 403 denied."""

    permission_classes = [ActsAsWorker]
    act = staticmethod(job_release)

    @extend_schema(request=JobActionInput, responses=_ACTION_RESPONSES)
    @idempotent
    def post(self, request: Request, external_id: str) -> Response:
        payload = JobActionInput(data=request.data)
        payload.is_valid(raise_exception=True)
        return _answer(
            request,
            self.act(
                worker=request.user.worker,
                external_id=external_id,
                token=request.auth,
                **payload.validated_data,
            ),
        )


@extend_schema_view(
    post=extend_schema(request=JobActionInput, responses={**_ACTION_RESPONSES, 423: _PAUSED})
)
class JobReclaimApi(JobReleaseApi):
    """A worker takes over a stuck job (or one whose lease expired), as the policy allows:
    200 reclaimed; 202 waiting for approval (it becomes the holder when approved); 403
    denied."""

    act = staticmethod(job_reclaim)
