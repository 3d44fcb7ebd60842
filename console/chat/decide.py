"""What a verified chat callback does: link an identity (``/link <code>``), or decide the
record a button names through the same services as the console and the API
(``self_heal_request_decide``, ``proposal_decide``), as the linked console user. Four-eyes,
roles, expiry and the append-only records are theirs to keep; the note or rationale and the
audit entry (``[chat]``) name the channel and the chat identity that decided.
"""

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from console.chat.providers import Callback, Outcome
from core.audience import speaking_to
from core.audit import CHAT, audit_via
from core.exceptions import DomainError
from core.profiles import profile_for
from notifications.buttons import Pressed, pressed
from notifications.chat import (
    LinkRefused,
    chat_callback_first_seen,
    chat_identity_for,
    chat_identity_link,
)
from notifications.models import Channel, ChatIdentity, DecisionKind
from policies.exceptions import ProposalAlreadyDecided
from policies.models import PolicyDecision, Proposal
from policies.services import proposal_decide
from repairs.exceptions import RequestAlreadyDecided, RequestExpired
from repairs.models import SelfHealRequest
from repairs.services import self_heal_request_decide

_LINK_COMMANDS = ("/link", "link")


def link_instructions() -> str:
    """Short enough for Telegram's 200-character callback answer, even with a long URL."""
    path = reverse("admin:console_chat_link")
    where = (
        f"{settings.PLS_PUBLIC_URL}{path}"
        if settings.PLS_PUBLIC_URL
        else _("console %(path)s") % {"path": path}
    )
    return _("To link: take a code at %(where)s, then send /link <code>") % {"where": where}


def callback_handle(*, channel: Channel, callback: Callback) -> Outcome | None:
    """The outcome of one callback, or None when there is nothing to say (a replay, an
    update we do not act on).

    The answer is written in the channel's language and time zone; on a channel that sets
    none, in those of the linked person who acted (blank: the console's)."""
    identity = (
        chat_identity_for(kind=channel.kind, provider_user_id=callback.user_id)
        if callback.user_id and not (channel.language and channel.time_zone)
        else None
    )
    person = profile_for(identity.user) if identity is not None else None
    with speaking_to(
        language=channel.language or (person.language if person else ""),
        time_zone=channel.time_zone or (person.time_zone if person else ""),
    ):
        return _handled(channel, callback)


def _handled(channel: Channel, callback: Callback) -> Outcome | None:
    if callback.ping or not callback.event_id:
        return None
    words = callback.text.split()
    is_link = bool(words) and words[0].split("@")[0].lower() in _LINK_COMMANDS
    if not callback.data and not is_link:
        return None
    if not chat_callback_first_seen(channel=channel, event_id=callback.event_id):
        return None  # handled before: a replay or a redelivery changes nothing
    if is_link:
        return _link(channel, callback, words[1] if len(words) > 1 else "")
    button = pressed(callback.data)
    if button is None:
        return Outcome(_("This button is not one of the console's."))
    identity = chat_identity_for(kind=channel.kind, provider_user_id=callback.user_id)
    if identity is None:
        return Outcome(
            _("This chat account is not linked: nothing decided. %(instructions)s")
            % {"instructions": link_instructions()}
        )
    with audit_via(CHAT):
        if button.kind == DecisionKind.SELF_HEAL_REQUEST:
            return _self_heal(channel, identity, button)
        return _proposal(channel, identity, button)


def _link(channel: Channel, callback: Callback, code: str) -> Outcome:
    if not code:
        return Outcome(link_instructions())
    try:
        identity = chat_identity_link(
            channel=channel,
            provider_user_id=callback.user_id,
            display_name=callback.user_name,
            code=code,
        )
    except LinkRefused as refused:
        return Outcome(str(refused))
    return Outcome(
        _("Linked to console user %(user)s: the buttons you press decide as them.")
        % {"user": identity.user.get_username()}
    )


def _who(channel: Channel, identity: ChatIdentity) -> str:
    return f"from chat: {channel.get_kind_display()} channel {channel.name}, {identity.described}"


def _self_heal(channel: Channel, identity: ChatIdentity, button: Pressed) -> Outcome:
    user = identity.user
    request = SelfHealRequest.objects.filter(pk=button.record_id).first()
    if request is None:
        return Outcome(
            _("Self-heal request #%(id)s does not exist.") % {"id": button.record_id},
            settled=True,
        )
    if not user.has_perm("repairs.change_selfhealrequest"):
        return Outcome(
            _("%(user)s may not decide self-heal requests; nothing changed.")
            % {"user": user.get_username()}
        )
    try:
        decided = self_heal_request_decide(
            request=request,
            user=user,
            approve=button.approve,
            note=f"{'Approved' if button.approve else 'Rejected'} {_who(channel, identity)}.",
        )
    except (RequestAlreadyDecided, RequestExpired) as settled:
        return Outcome(settled.detail, settled=True)
    except DomainError as refused:  # four-eyes, the wrong role, a worker
        return Outcome(_("%(refusal)s Nothing changed.") % {"refusal": refused.detail})
    said = (
        _("Self-heal request #%(id)s approved by %(user)s.")
        if decided.status == SelfHealRequest.Status.APPROVED
        else _("Self-heal request #%(id)s rejected by %(user)s.")
        if decided.status == SelfHealRequest.Status.REJECTED
        else _("Self-heal request #%(id)s %(status)s by %(user)s.")
    )
    return Outcome(
        said % {"id": decided.pk, "status": decided.status, "user": user.get_username()},
        settled=True,
    )


def _proposal(channel: Channel, identity: ChatIdentity, button: Pressed) -> Outcome:
    user = identity.user
    proposal = Proposal.objects.filter(pk=button.record_id).first()
    if proposal is None:
        return Outcome(
            _("Proposal #%(id)s does not exist.") % {"id": button.record_id}, settled=True
        )
    if not user.has_perm("policies.change_proposal"):
        return Outcome(
            _("%(user)s may not decide proposals; nothing changed.") % {"user": user.get_username()}
        )
    decision = PolicyDecision.Decision.ADOPT if button.approve else PolicyDecision.Decision.REJECT
    try:
        proposal_decide(
            proposal=proposal,
            user=user,
            decision=decision,
            rationale=f"{'Adopted' if button.approve else 'Rejected'} {_who(channel, identity)}.",
        )
    except ProposalAlreadyDecided as settled:
        return Outcome(settled.detail, settled=True)
    except DomainError as refused:
        return Outcome(_("%(refusal)s Nothing changed.") % {"refusal": refused.detail})
    said = (
        _("Proposal #%(id)s adopted by %(user)s.")
        if button.approve
        else _("Proposal #%(id)s rejected by %(user)s.")
    )
    return Outcome(said % {"id": proposal.pk, "user": user.get_username()}, settled=True)
