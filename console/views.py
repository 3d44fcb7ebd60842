"""The console home's own form: Approve / Reject on a pending self-heal request, right in the
approvals panel. It is mounted by ``console.site.OpsConsoleSite.get_urls`` behind the admin's
login and CSRF protection, validates the note with the admin action's form (the API's
serializer) and decides through ``self_heal_request_decide``, the same service the admin
action and the API call; a refusal (wrong role, own request, decided, expired) comes back as
a message on the home."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.exceptions import DomainError
from repairs.forms import SelfHealApproveForm, SelfHealRejectForm, decision_said
from repairs.selectors import self_heal_request_list
from repairs.services import self_heal_request_decide


def refusal(pk: int, why: object) -> dict[str, object]:
    return {"pk": pk, "why": why}


DECISIONS = {"approve": SelfHealApproveForm, "reject": SelfHealRejectForm}


@require_POST
def self_heal_decide(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm("repairs.change_selfhealrequest"):
        raise PermissionDenied
    form_class = DECISIONS.get(request.POST.get("decision", ""))
    if form_class is None:
        return HttpResponseBadRequest("decision must be approve or reject")
    heal = get_object_or_404(self_heal_request_list(user=request.user), pk=pk)
    home = reverse("admin:index") + "#approvals"
    form = form_class(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(
                    request, _("Self-heal request #%(pk)s: %(why)s") % refusal(pk, message)
                )
        return HttpResponseRedirect(home)
    try:
        decided = self_heal_request_decide(
            request=heal, user=request.user, approve=form_class.approve, note=form.validated["note"]
        )
    except DomainError as refused:
        messages.error(
            request, _("Self-heal request #%(pk)s: %(why)s") % refusal(pk, refused.detail)
        )
    else:
        messages.success(request, decision_said(decided))
    return HttpResponseRedirect(home)
