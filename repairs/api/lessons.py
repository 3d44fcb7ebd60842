"""``/api/v1/learning-memory-updates``: workers report lessons, everyone with the view right
lists and searches them. It lives in repairs because a lesson may name one of the reporting
worker's repair events; the review, the detail and the prompt pack are learning's own API."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from core.exports import ExportableList
from core.idempotency import idempotent
from core.pagination import NewestFirst
from core.permissions import RolePermissions
from learning.api import LearningUpdateFilter, LearningUpdateInput, LearningUpdateOutput
from learning.models import LearningMemoryUpdate
from learning.selectors import learning_update_list
from learning.services import learning_update_record
from repairs.selectors import repair_event_list, worker_for_user


class LearningUpdateListCreateApi(ExportableList):
    """Workers report lessons (201 new, 200 when the team already had it: its occurrences
    grew); everyone with the view right lists and searches them, and exports them
    (``?format=ndjson`` / ``?format=csv``)."""

    export_name = "learning-memory-updates"

    permission_classes = [RolePermissions]
    serializer_class = LearningUpdateOutput
    filterset_class = LearningUpdateFilter
    pagination_class = NewestFirst
    queryset = LearningMemoryUpdate.objects.none()  # for RolePermissions' model lookup

    def get_queryset(self):
        return learning_update_list(user=self.request.user)

    @extend_schema(
        request=LearningUpdateInput,
        responses={
            201: LearningUpdateOutput,
            200: OpenApiResponse(
                LearningUpdateOutput, description="Already known: its occurrences grew"
            ),
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        worker = worker_for_user(request.user)
        if worker is None:
            raise exceptions.PermissionDenied(_("Only workers report learning updates."))
        payload = LearningUpdateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        event = None
        if "event" in data:
            event = repair_event_list(user=request.user).filter(pk=data["event"]).first()
            if event is None:
                raise exceptions.ValidationError(
                    {
                        "event": [
                            _("Event #%(event)s is not one of this worker's events.")
                            % {"event": data["event"]}
                        ]
                    }
                )
        learned = learning_update_record(
            worker=worker,
            kind=data["kind"],
            error_class=data["error_class"],
            lesson=data["lesson"],
            fix=data["fix"],
            next_round_priority=data.get("next_round_priority"),
            event_id=event.pk if event is not None else None,
        )
        return Response(
            LearningUpdateOutput(learned.update).data,
            status=status.HTTP_201_CREATED if learned.created else status.HTTP_200_OK,
        )
