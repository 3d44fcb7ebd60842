"""The self-heal decision forms, shared by the request list's actions and the console home's
Approve / Reject buttons (``console.views``). Their rules are the API's serializers'."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import SerializerForm
from repairs.api.self_heal import SelfHealDecisionInput, SelfHealRejectInput
from repairs.models import SelfHealRequest


class SelfHealApproveForm(SerializerForm):
    serializer_class = SelfHealDecisionInput
    approve = True

    note = forms.CharField(
        label=_("note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("The worker reads it with the decision. Required to reject."),
    )


class SelfHealRejectForm(SelfHealApproveForm):
    serializer_class = SelfHealRejectInput  # which requires the note
    approve = False


def decision_said(decided: SelfHealRequest) -> str:
    """What the person who decided ``decided`` is told, in their language."""
    if decided.status == SelfHealRequest.Status.APPROVED:
        said = gettext("Self-heal request #%(pk)s approved: %(worker)s may %(action)s now.")
    else:
        said = gettext("Self-heal request #%(pk)s rejected: %(worker)s may not %(action)s now.")
    return said % {"pk": decided.pk, "worker": decided.worker, "action": decided.action}
