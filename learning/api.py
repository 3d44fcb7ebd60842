"""The learning API: reviewers accept / edit / retire lessons, and a team fetches its prompt
pack as Markdown. Workers report lessons through ``repairs.api.lessons`` (a lesson may name
one of the worker's repair events, which repairs checks), with these serializers."""

from typing import Any

import django_filters
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import NotAllowed
from core.filters import UtcIsoDateTimeFilter
from core.openapi import request_examples
from core.permissions import RolePermissions, requires
from core.roles import acting_worker
from learning.models import LearningMemoryUpdate
from learning.search import lessons_matching
from learning.selectors import learning_update_list
from learning.services import (
    learning_update_accept,
    learning_update_edit,
    learning_update_retire,
    prompt_pack_export,
)

LESSON_MAX_CHARS = 4000


@request_examples(
    (
        _("A lesson"),
        {
            "kind": "repair_lesson",
            "error_class": "context_fetch_failed",
            "lesson": "Retry the context fetch once before reporting",
            "next_round_priority": 2,
        },
    ),
)
class LearningUpdateInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=LearningMemoryUpdate.Kind.choices)
    error_class = serializers.SlugField(max_length=100)
    lesson = serializers.CharField(max_length=LESSON_MAX_CHARS, help_text="What to do next time")
    fix = serializers.CharField(
        max_length=LESSON_MAX_CHARS, required=False, allow_blank=True, default=""
    )
    next_round_priority = serializers.IntegerField(
        min_value=1,
        max_value=5,
        required=False,
        help_text="1 = do first … 5 = last (default PLS_LEARNING_DEFAULT_PRIORITY, 3)",
    )
    event = serializers.IntegerField(
        min_value=1, required=False, help_text="One of this worker's own repair events"
    )


class LearningUpdateEditInput(serializers.Serializer):
    lesson = serializers.CharField(max_length=LESSON_MAX_CHARS, required=False)
    fix = serializers.CharField(max_length=LESSON_MAX_CHARS, required=False, allow_blank=True)
    next_round_priority = serializers.IntegerField(min_value=1, max_value=5, required=False)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if not data:
            raise serializers.ValidationError(_("Give lesson, fix or next_round_priority."))
        return data


class LearningUpdateOutput(serializers.Serializer):
    id = serializers.IntegerField()
    team = serializers.CharField(help_text="Blank: the whole fleet")
    kind = serializers.CharField()
    error_class = serializers.CharField()
    lesson = serializers.CharField()
    fix = serializers.CharField()
    next_round_priority = serializers.IntegerField()
    occurrences = serializers.IntegerField()
    review = serializers.ChoiceField(choices=LearningMemoryUpdate.Review.choices)
    worker = serializers.CharField(
        source="worker.name", default=None, allow_null=True, help_text="Who reported it first"
    )
    event = serializers.IntegerField(source="event_id", allow_null=True)
    reviewed_by = serializers.CharField(
        source="reviewed_by.username", default=None, allow_null=True
    )
    reviewed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()


class LearningUpdateFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=LearningMemoryUpdate.Kind.choices)
    review = django_filters.ChoiceFilter(choices=LearningMemoryUpdate.Review.choices)
    error_class = django_filters.CharFilter()
    team = django_filters.CharFilter()
    worker = django_filters.CharFilter(field_name="worker__name")
    since = UtcIsoDateTimeFilter(field_name="last_seen_at", lookup_expr="gte")
    q = django_filters.CharFilter(
        method="search",
        help_text="Words of the lesson or fix, each a substring in any language (Chinese too); "
        "on PostgreSQL English full-text matches as well",
    )

    class Meta:
        model = LearningMemoryUpdate
        fields = ["kind", "review", "error_class", "team", "worker", "since", "q"]

    def search(self, records, name: str, value: str):  # type: ignore[no-untyped-def]
        return lessons_matching(records, value)


class LearningUpdateDetailApi(generics.RetrieveAPIView):
    """One update; PATCH edits lesson, fix or priority (the owner or the risk reviewer)."""

    permission_classes = [RolePermissions]
    serializer_class = LearningUpdateOutput
    queryset = LearningMemoryUpdate.objects.none()

    def get_queryset(self):
        return learning_update_list(user=self.request.user)

    @extend_schema(request=LearningUpdateEditInput, responses=LearningUpdateOutput)
    def patch(self, request: Request, pk: int) -> Response:
        payload = LearningUpdateEditInput(data=request.data)
        payload.is_valid(raise_exception=True)
        edited = learning_update_edit(
            update=self.get_object(), by=request.user, **payload.validated_data
        )
        return Response(LearningUpdateOutput(edited).data)


class LearningUpdateAcceptApi(APIView):
    """Accept into the team's prompt pack (the owner or the risk reviewer)."""

    permission_classes = [requires("learning.change_learningmemoryupdate")]

    @extend_schema(request=None, responses=LearningUpdateOutput)
    def post(self, request: Request, pk: int) -> Response:
        update = get_object_or_404(learning_update_list(user=request.user), pk=pk)
        return Response(
            LearningUpdateOutput(learning_update_accept(update=update, by=request.user)).data
        )


class LearningUpdateRetireApi(APIView):
    """Retire: out of the prompt pack, still counted (the owner or the risk reviewer)."""

    permission_classes = [requires("learning.change_learningmemoryupdate")]

    @extend_schema(request=None, responses=LearningUpdateOutput)
    def post(self, request: Request, pk: int) -> Response:
        update = get_object_or_404(learning_update_list(user=request.user), pk=pk)
        return Response(
            LearningUpdateOutput(learning_update_retire(update=update, by=request.user)).data
        )


class MarkdownRenderer(BaseRenderer):
    media_type = "text/markdown"
    format = "md"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context=None):  # type: ignore[no-untyped-def]
        return data.encode(self.charset)


class PromptPackQuery(serializers.Serializer):
    team = serializers.RegexField(
        r"^[-a-zA-Z0-9_]*$", max_length=100, required=False, allow_blank=True
    )


class PromptPackApi(APIView):
    """The team's accepted lessons as Markdown, for its workers' instructions; each fetch is
    recorded as an export. A worker fetches its own team's pack (the default); people with
    the view right fetch any team's, and without ``team`` the fleet-wide lessons alone."""

    permission_classes = [RolePermissions]
    queryset = LearningMemoryUpdate.objects.none()
    # Markdown only: ``Accept: */*`` (curl) and ``Accept: text/markdown`` both get it, and
    # an Accept that excludes it gets 406.
    renderer_classes = [MarkdownRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter("team", str, description="Default: the calling worker's team")
        ],
        responses={(200, "text/markdown"): OpenApiTypes.STR},
    )
    def get(self, request: Request) -> Response:
        query = PromptPackQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        worker = acting_worker(request.user)
        team = query.validated_data.get("team")
        if worker is not None:
            if team is None:
                team = worker.team
            elif team != worker.team:
                raise NotAllowed(
                    _("A worker fetches its own team's pack (%(team)s).") % {"team": worker.team}
                )
        pack = prompt_pack_export(team=team or "", by=request.user)
        filename = f"prompt-pack-{team or 'fleet'}.md"
        return Response(
            pack.markdown,
            headers={
                "Content-Disposition": f'inline; filename="{filename}"',
                "X-Lesson-Count": str(pack.lesson_count),
                "Cache-Control": "no-store",
            },
        )

    def finalize_response(self, request: Request, response, *args, **kwargs):  # type: ignore[no-untyped-def]
        # Errors stay problem documents (JSON) whatever the client accepts, and so does
        # anything that is not the pack's text (OPTIONS' metadata was a 500).
        if isinstance(response, Response) and (
            response.status_code >= 400 or not isinstance(response.data, str)
        ):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)
