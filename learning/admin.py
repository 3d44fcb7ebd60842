"""The learning memory in the console: every role reads lessons; the owner and the risk
reviewer accept, retire, share and edit them; everyone with the view right reads a team's
prompt pack (and each showing is recorded as an export)."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import ExportableAdmin, ReadOnlyAdmin, admin_link
from core.exceptions import DomainError
from core.text import normalise_message
from learning.api import LearningUpdateOutput
from learning.models import LearningMemoryUpdate, PromptPackExport
from learning.search import lessons_matching
from learning.selectors import learning_teams, learning_update_list, prompt_pack_export_list
from learning.services import (
    learning_update_accept,
    learning_update_edit,
    learning_update_retire,
    learning_update_share,
    lesson_digest,
    may_review,
    prompt_pack_export,
)


class LearningUpdateForm(forms.ModelForm):
    class Meta:
        model = LearningMemoryUpdate
        fields = ["lesson", "fix", "next_round_priority"]

    def clean_lesson(self) -> str:
        lesson = self.cleaned_data["lesson"].strip()
        if not normalise_message(lesson):
            raise forms.ValidationError(gettext("A lesson needs words."))
        twin = (
            LearningMemoryUpdate.objects.filter(
                team=self.instance.team,
                kind=self.instance.kind,
                error_class=self.instance.error_class,
                lesson_digest=lesson_digest(lesson),
            )
            .exclude(pk=self.instance.pk)
            .first()
        )
        if twin is not None:
            said = {"pk": twin.pk, "team": twin.team or gettext("the whole fleet")}
            raise forms.ValidationError(
                gettext(
                    "Update #%(pk)s already says this for %(team)s; retire one of the two instead."
                )
                % said
            )
        return lesson


@admin.register(LearningMemoryUpdate)
class LearningMemoryUpdateAdmin(ExportableAdmin):
    export_serializer = LearningUpdateOutput
    export_name = "learning-memory-updates"

    form = LearningUpdateForm
    change_list_template = "admin/learning/learningmemoryupdate/change_list.html"
    list_display = [
        "id",
        "review",
        "scope",
        "kind",
        "error_class",
        "short_lesson",
        "priority",
        "seen",
        "last_seen_at",
    ]
    list_filter = ["review", "kind", "team", "error_class"]
    # The box searches through learning.search (full-text on PostgreSQL); a field is named
    # only so the admin shows the box.
    search_fields = ["lesson"]
    search_help_text = _(
        "Words of the lesson or fix (on PostgreSQL, 'retry' also finds 'retrying')."
    )
    list_select_related = ["worker"]
    fields = [
        "review",
        "team",
        "kind",
        "error_class",
        "lesson",
        "fix",
        "next_round_priority",
        "occurrences",
        "worker",
        "event_link",
        "created_at",
        "last_seen_at",
        "reviewed_by",
        "reviewed_at",
    ]
    actions = ["accept", "retire", "share_fleet_wide"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[LearningMemoryUpdate]:
        return learning_update_list(user=request.user)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        return lessons_matching(queryset, search_term), False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        editable = {"lesson", "fix", "next_round_priority"}
        return [name for name in self.fields if name not in editable]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # workers report lessons through the API; resolving an event adds one

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # retire instead: the count of a retired lesson still tells something

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_review(request.user)

    def has_review_permission(self, request: HttpRequest) -> bool:
        return may_review(request.user)

    def save_model(
        self, request: HttpRequest, obj: LearningMemoryUpdate, form: forms.Form, change: bool
    ) -> None:
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        learning_update_edit(update=obj, by=request.user, **changed)

    # learning_update_edit wrote the audit entry (core.audit); the admin's would be a second.
    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> None:
        return None

    @admin.display(description=_("team"), ordering="team")
    def scope(self, update: LearningMemoryUpdate) -> str:
        return update.team or gettext("whole fleet")

    @admin.display(description=_("priority"), ordering="next_round_priority")
    def priority(self, update: LearningMemoryUpdate) -> str:
        return f"P{update.next_round_priority}"

    @admin.display(description=_("seen"), ordering="occurrences")
    def seen(self, update: LearningMemoryUpdate) -> str:
        return f"{update.occurrences}x"

    @admin.display(description=_("lesson"))
    def short_lesson(self, update: LearningMemoryUpdate) -> str:
        return update.lesson if len(update.lesson) <= 120 else update.lesson[:119] + "…"

    @admin.display(description=_("event"))
    def event_link(self, update: LearningMemoryUpdate) -> str:
        return admin_link(update.event, f"#{update.event_id}") if update.event_id else "—"

    @admin.action(description=_("Accept into the prompt pack"), permissions=["review"])
    def accept(self, request: HttpRequest, queryset: QuerySet[LearningMemoryUpdate]) -> None:
        self._review_each(request, queryset, learning_update_accept, _("accepted"))

    @admin.action(description=_("Retire (out of the prompt pack)"), permissions=["review"])
    def retire(self, request: HttpRequest, queryset: QuerySet[LearningMemoryUpdate]) -> None:
        self._review_each(request, queryset, learning_update_retire, _("retired"))

    @admin.action(description=_("Share with the whole fleet"), permissions=["review"])
    def share_fleet_wide(
        self, request: HttpRequest, queryset: QuerySet[LearningMemoryUpdate]
    ) -> None:
        self._review_each(
            request, queryset, learning_update_share, _("shared with the whole fleet")
        )

    def _review_each(
        self,
        request: HttpRequest,
        queryset: QuerySet[LearningMemoryUpdate],
        service: Callable[..., LearningMemoryUpdate],
        done: object,
    ) -> None:
        for update in queryset:
            try:
                service(update=update, by=request.user)
            except DomainError as refused:
                said = gettext("Learning update #%(pk)s: %(why)s")
                self.message_user(
                    request, said % {"pk": update.pk, "why": refused.detail}, messages.ERROR
                )
            else:
                said = gettext("Learning update #%(pk)s %(done)s.")
                self.message_user(request, said % {"pk": update.pk, "done": done})

    # --- The prompt pack page ---

    def get_urls(self) -> list:
        return [
            path(
                "prompt-pack/",
                self.admin_site.admin_view(self.prompt_pack_view),
                name="learning_learningmemoryupdate_prompt_pack",
            ),
            *super().get_urls(),
        ]

    def prompt_pack_view(self, request: HttpRequest) -> HttpResponse:
        """A team's prompt pack in a <pre> with a copy button; showing it records an export.
        Without ``?team=`` it only lists the teams."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        teams = learning_teams()
        team = request.GET.get("team")
        pack = None
        if team is not None:
            if team and team not in teams:
                raise Http404(
                    gettext("No team %(team)s has workers or lessons.") % {"team": repr(team)}
                )
            pack = prompt_pack_export(team=team, by=request.user)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Prompt pack: %(scope)s") % {"scope": team or _("the whole fleet")}
            if pack
            else _("Prompt pack"),
            "opts": self.model._meta,
            "teams": teams,
            "team": team,
            "pack": pack,
        }
        return TemplateResponse(
            request, "admin/learning/learningmemoryupdate/prompt_pack.html", context
        )


@admin.register(PromptPackExport)
class PromptPackExportAdmin(ReadOnlyAdmin):
    """Who exported which team's prompt pack, when, and with how many lessons."""

    list_display = ["exported_at", "team_label", "exported_by", "lesson_count", "digest"]
    list_filter = ["team"]
    date_hierarchy = "exported_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[PromptPackExport]:
        return prompt_pack_export_list()

    @admin.display(description=_("team"), ordering="team")
    def team_label(self, export: PromptPackExport) -> str:
        return export.team or gettext("whole fleet")
