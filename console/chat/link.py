"""The console's "Link my chat account" page: a signed-in person takes a one-time code
(valid ten minutes) and sends ``/link <code>`` to the bot; the page lists the chat accounts
linked to them. Mounted by ``console.site.OpsConsoleSite.get_urls`` behind the login."""

from typing import Any

from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods

from notifications.chat import chat_link_code_issue
from notifications.models import ChatIdentity, ChatLinkCode


@require_http_methods(["GET", "POST"])
def chat_link(request: HttpRequest, site_context: dict[str, Any]) -> TemplateResponse:
    code = ""
    if request.method == "POST":
        code = chat_link_code_issue(user=request.user)
    context = {
        **site_context,
        "title": "Link my chat account",
        "code": code,
        "minutes": int(ChatLinkCode.TTL.total_seconds() // 60),
        "identities": ChatIdentity.objects.filter(user=request.user).select_related(
            "linked_through"
        ),
    }
    return TemplateResponse(request, "admin/console/chat_link.html", context)
