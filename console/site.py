"""The PLS Ops Console: the Django admin site. Its home is the dashboard (``console.home``)
above the app list; the home's Approve / Reject buttons post to ``console.views``."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from console.chat.link import chat_link
from console.home import console_home
from console.language import language_choose
from console.my_settings import my_settings
from console.views import self_heal_decide
from core.admin import ConsoleListAdmin
from policies.models import Proposal
from policies.selectors import open_question_count, proposal_list
from repairs.models import SelfHealRequest
from repairs.selectors import self_heal_request_list


class OpsConsoleSite(admin.AdminSite):
    """The console. Its home is the dashboard (``console.home``): what waits for a human,
    the D7 acceptance panel, the milestones, the worker board and the scorecard, above the
    app list; each part only for people who may read it."""

    site_header = gettext_lazy("PLS Ops Console")
    site_title = gettext_lazy("PLS Ops Console")
    index_title = gettext_lazy("Fleet governance")

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        context = {
            "governance": governance_summary(request),
            **console_home(request),
            **(extra_context or {}),
        }
        return super().index(request, context)

    def chat_link_view(self, request: HttpRequest) -> TemplateResponse:
        return chat_link(request, self.each_context(request))

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        # Third-party apps (django-axes, django.contrib.auth) register their own ModelAdmins
        # here: each is given the console's list behaviour (ConsoleListAdmin) on top.
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, ConsoleListAdmin):
            admin_class = type(
                admin_class.__name__,
                (ConsoleListAdmin, admin_class),
                {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__},
            )
        super().register(model_or_iterable, admin_class, **options)

    def get_urls(self) -> list[URLPattern | URLResolver]:
        # The home's Approve / Reject buttons post here; before the admin's own patterns,
        # whose catch-all would take the path otherwise.
        return [
            path(
                "console/self-heal-requests/<int:pk>/decide/",
                self.admin_view(self_heal_decide),
                name="console_self_heal_decide",
            ),
            path(
                "console/chat-link/",
                self.admin_view(self.chat_link_view),
                name="console_chat_link",
            ),
            path("console/my-settings/", self.admin_view(my_settings), name="console_my_settings"),
            path(
                "console/language/",
                self.admin_view(language_choose),
                name="console_language_choose",
            ),
            *super().get_urls(),
        ]


def governance_summary(request: HttpRequest) -> list[dict[str, Any]]:
    """The index page's Governance box: what waits for a human, each line only for people
    who may read it."""
    user = request.user
    lines = []
    if user.has_perm("repairs.view_selfhealrequest"):
        pending = SelfHealRequest.Status.PENDING
        lines.append(
            {
                "label": _("Self-heal requests pending"),
                "count": self_heal_request_list(user=user).filter(status=pending).count(),
                "url": reverse("admin:repairs_selfhealrequest_changelist")
                + f"?status__exact={pending}",
            }
        )
    if user.has_perm("policies.view_proposal"):
        proposals = reverse("admin:policies_proposal_changelist")
        undecided = ",".join(Proposal.UNDECIDED)
        question = Proposal.Kind.POLICY_QUESTION
        others = ",".join(kind for kind in Proposal.Kind if kind != question)
        lines += [
            {
                "label": _("Proposals to decide"),
                "count": proposal_list()
                .filter(status__in=Proposal.UNDECIDED)
                .exclude(kind=question)
                .count(),
                "url": f"{proposals}?status__in={undecided}&kind__in={others}",
            },
            {
                "label": _("Policy questions open"),
                "count": open_question_count(),
                "url": f"{proposals}?status__in={undecided}&kind__exact={question}",
            },
        ]
    return lines
