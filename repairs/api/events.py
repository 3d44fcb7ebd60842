import copy
from datetime import datetime, timedelta

import django_filters
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exports import ExportableList
from core.filters import UtcIsoDateTimeFilter
from core.idempotency import idempotent
from core.openapi import request_examples
from core.pagination import NewestFirst
from core.permissions import RolePermissions, requires
from policies import ladder
from repairs.models import Gate, Outcome, RepairEvent, SelfHealRequest
from repairs.search import events_matching
from repairs.selectors import (
    repair_event_list,
    worker_for_user,
)
from repairs.services import ReportedOutcome, repair_event_report, repair_event_resolve

# Worker clocks drift; an event further ahead than this is a bug in the worker, not drift.
CLOCK_SKEW = timedelta(minutes=5)


class ShallowFieldsSerializer(serializers.Serializer):
    """A serializer that gives each instance shallow copies of its declared fields.

    DRF deep-copies every declared field for every serializer instance (running each
    field's ``__init__`` again) so that one instance may change its fields without touching
    the class's; on ingest that was a tenth of the request's CPU. These serializers never
    change their fields, and ``bind()`` only sets attributes on the copy, so a shallow copy
    of each class-level field, which DRF never binds, is enough.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}


class OutcomeFields(ShallowFieldsSerializer):
    """Whether a repair worked and, when it did, the lesson it leaves (optional: one is
    derived from the event when none is given)."""

    lesson = serializers.CharField(
        max_length=4000,
        required=False,
        allow_blank=True,
        default="",
        help_text="With outcome resolved: what the next worker should do",
    )
    fix = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    next_round_priority = serializers.IntegerField(
        min_value=1, max_value=5, required=False, allow_null=True, default=None
    )

    def validate(self, data: dict) -> dict:
        lesson_given = data.get("lesson") or data.get("fix") or data.get("next_round_priority")
        if lesson_given and data.get("outcome") != Outcome.RESOLVED:
            raise serializers.ValidationError(
                {"outcome": [_("A lesson, fix or priority goes with outcome 'resolved'.")]}
            )
        return data


@request_examples(
    (
        _("Resolved, with its lesson"),
        {
            "outcome": "resolved",
            "lesson": "Retry the context fetch once; it recovers within a minute",
            "next_round_priority": 2,
        },
    ),
    (_("Failed"), {"outcome": "failed"}),
)
class RepairOutcomeInput(OutcomeFields):
    outcome = serializers.ChoiceField(choices=Outcome.choices)


@request_examples(
    (
        _("A stuck claim, asking to retry"),
        {
            "gate": "stuck_claim",
            "error_class": "context_fetch_failed",
            "job": "PLS-142",
            "phase": "fetch_context",
            "action": "retry",
            "target": "PLS-142",
            "message": "Context fetch timed out after 30 s",
            "evidence": "GET /api/context/PLS-142 -> 504",
        },
    ),
    (
        _("Friction, with no action"),
        {"gate": "friction", "error_class": "approval_wait", "message": "Waited 2 h"},
    ),
)
class RepairEventInput(OutcomeFields):
    outcome = serializers.ChoiceField(
        choices=Outcome.choices,
        required=False,
        help_text="When the repair's result is known at once; otherwise report it later",
    )
    gate = serializers.ChoiceField(choices=Gate.choices)
    error_class = serializers.SlugField(max_length=100)
    job = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    phase = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    action = serializers.SlugField(
        max_length=40,
        required=False,
        allow_blank=True,
        default="",
        help_text="The self-heal action the worker wants; the answer carries the verdict",
    )
    target = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text=_(
            "What the action acts on, judged with the job. For release, reclaim, touch and "
            "retry it may only name the job (another target is a 400 target-not-the-job)"
        ),
    )
    callback_url = serializers.URLField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="Receives a signed POST when a self-heal request this event opens is decided",
    )
    message = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    evidence = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False
    )
    occurred_at = serializers.DateTimeField(required=False)

    def validate_occurred_at(self, value: datetime) -> datetime:
        if value > timezone.now() + CLOCK_SKEW:
            raise serializers.ValidationError(_("occurred_at lies in the future."))
        return value


class VerdictOutput(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=[ladder.ALLOWED, ladder.NEEDS_APPROVAL, ladder.DENIED]
    )
    action = serializers.CharField()
    rung = serializers.CharField(help_text="L0 observe, L1 safe, L2 risky, L3 forbidden")
    reason = serializers.CharField()
    retries_left = serializers.IntegerField(allow_null=True)
    approver_role = serializers.CharField(allow_null=True)


class RepairEventOutput(serializers.Serializer):
    """The fields below describe the event (the OpenAPI schema is built from them);
    ``to_representation`` writes them without DRF's per-field machinery.

    A ModelSerializer rebuilt its fields by model introspection on every response; a plain
    Serializer still deep-copies and binds 21 fields per event, a visible share of ingest's
    CPU. tests/repairs/test_ingest_fast_path.py holds the two renderings equal.
    """

    id = serializers.IntegerField()
    worker = serializers.CharField(source="worker.name")
    job = serializers.SerializerMethodField()
    gate = serializers.CharField()
    error_class = serializers.CharField()
    fingerprint = serializers.CharField()
    repeat_count = serializers.IntegerField(
        help_text=(
            "Reports of this fingerprint across the fleet in the policy's repeat window, this "
            "one included. Counted in PLS_REPEAT_BUCKETS (60) buckets of the window: the "
            "reports in its oldest bucket (a 60th of it) may be left out; a report whose "
            "occurred_at lies inside the window counts when it arrives, one older counts "
            "only itself."
        )
    )
    phase = serializers.CharField()
    action = serializers.CharField()
    message = serializers.CharField()
    evidence = serializers.CharField()
    evidence_cut_bytes = serializers.IntegerField()
    redactions = serializers.IntegerField()
    target = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField()
    outcome = serializers.CharField(help_text="resolved, failed, or blank until reported")
    resolved_at = serializers.DateTimeField(allow_null=True)
    verdict = serializers.SerializerMethodField()
    proposal = serializers.SerializerMethodField()
    self_heal_request = serializers.SerializerMethodField()

    def to_representation(self, event: RepairEvent) -> dict:
        return {
            "id": event.pk,
            "worker": event.worker.name,
            "job": self.get_job(event),
            "gate": event.gate,
            "error_class": event.error_class,
            "fingerprint": event.fingerprint,
            "repeat_count": event.repeat_count,
            "phase": event.phase,
            "action": event.action,
            "message": event.message,
            "evidence": event.evidence,
            "evidence_cut_bytes": event.evidence_cut_bytes,
            "redactions": event.redactions,
            "target": event.target,
            "occurred_at": _DATETIME.to_representation(event.occurred_at),
            "received_at": _DATETIME.to_representation(event.received_at),
            "outcome": event.outcome,
            "resolved_at": _DATETIME.to_representation(event.resolved_at),
            "verdict": self.get_verdict(event),
            "proposal": self.get_proposal(event),
            "self_heal_request": self.get_self_heal_request(event),
        }

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_job(self, event: RepairEvent) -> str | None:
        return event.job_ref or None

    @extend_schema_field(VerdictOutput(allow_null=True))
    def get_verdict(self, event: RepairEvent) -> dict | None:
        return event.verdict

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_proposal(self, event: RepairEvent) -> int | None:
        return event.proposal_id

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_self_heal_request(self, event: RepairEvent) -> int | None:
        # Only an escalated verdict opens one; asking otherwise would cost a query.
        if event.decision != ladder.NEEDS_APPROVAL:
            return None
        try:
            return event.self_heal_request.pk
        except SelfHealRequest.DoesNotExist:
            return None


# Stateless once built (it only reads settings): one instance renders every timestamp as
# DRF would, ISO 8601 in the current time zone with "Z" for UTC.
_DATETIME = serializers.DateTimeField()


class RepairEventFilter(django_filters.FilterSet):
    gate = django_filters.ChoiceFilter(choices=Gate.choices)
    error_class = django_filters.CharFilter()
    worker = django_filters.CharFilter(field_name="worker__name")
    job = django_filters.CharFilter(field_name="job_ref")
    since = UtcIsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    q = django_filters.CharFilter(
        method="search",
        help_text="Words of the error class, job or message, each a substring in any language "
        "(Chinese too), or a whole fingerprint; every word must match",
    )

    class Meta:
        model = RepairEvent
        fields = ["gate", "error_class", "worker", "job", "since", "q"]

    def search(self, events, name: str, value: str):  # type: ignore[no-untyped-def]
        return events_matching(events, value)


class RepairEventListCreateApi(ExportableList):
    """Workers report repair events; people and workers read them back (also as NDJSON or
    CSV: ``?format=ndjson`` / ``?format=csv``, every row the filters select)."""

    export_name = "worker-repair-events"
    # Evidence may hold 64 KiB an event: a smaller chunk keeps the stream's memory low.
    export_chunk_size = 500

    permission_classes = [RolePermissions]
    serializer_class = RepairEventOutput
    filterset_class = RepairEventFilter
    pagination_class = NewestFirst
    queryset = RepairEvent.objects.none()  # for RolePermissions' model lookup

    def get_queryset(self):
        return repair_event_list(user=self.request.user)

    @extend_schema(request=RepairEventInput, responses={201: RepairEventOutput})
    @idempotent
    def post(self, request: Request) -> Response:
        worker = worker_for_user(request.user)
        if worker is None:
            raise exceptions.PermissionDenied(_("Only workers report repair events."))
        payload = RepairEventInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        outcome = None
        if data.get("outcome"):
            outcome = ReportedOutcome(
                outcome=data["outcome"],
                lesson=data["lesson"],
                fix=data["fix"],
                next_round_priority=data["next_round_priority"],
            )
        reported = repair_event_report(
            worker=worker,
            gate=data["gate"],
            error_class=data["error_class"],
            job_ref=data["job"],
            phase=data["phase"],
            action=data["action"],
            target=data["target"],
            message=data["message"],
            evidence=data["evidence"],
            occurred_at=data.get("occurred_at"),
            token=request.auth,
            callback_url=data["callback_url"],
            outcome=outcome,
        )
        return Response(RepairEventOutput(reported.event).data, status=status.HTTP_201_CREATED)


class RepairEventOutcomeApi(APIView):
    """The worker that reported an event says whether its repair worked, once. ``resolved``
    records a ``repair_lesson`` for its team (the lesson given, or one derived from the
    event); a second outcome is 409 ``outcome-already-recorded``."""

    permission_classes = [requires("repairs.add_repairevent")]

    @extend_schema(request=RepairOutcomeInput, responses=RepairEventOutput)
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        if worker_for_user(request.user) is None:
            raise exceptions.PermissionDenied(
                _(
                    "Only the worker that reported an event reports its outcome; the owner "
                    "marks events resolved in the console."
                )
            )
        payload = RepairOutcomeInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        # Another worker's event is 404, as if it did not exist.
        event = get_object_or_404(repair_event_list(user=request.user), pk=pk)
        resolved = repair_event_resolve(
            event=event,
            outcome=data["outcome"],
            by=request.user,
            lesson=data["lesson"],
            fix=data["fix"],
            next_round_priority=data["next_round_priority"],
        )
        return Response(RepairEventOutput(resolved).data)
