"""``POST /api/v1/channels/{id}/interactions``: where Telegram, Slack, Discord and LINE post
what people do with a report's buttons (and ``/link <code>``).

The channel's provider signature is checked over the raw body before anything is read; a
bad one is answered 401 (a problem document) and logged. Each callback is then handled
(``console.chat.decide``) and answered the provider's way. The provider calls that answer
it (hiding the buttons, confirming to the person) are made here, after the decision has
committed, rather than by Celery: the reply tokens they use live seconds to minutes
(Telegram expects the callback answered at once, LINE's reply token soon expires), and a
call that fails loses nothing but the confirmation; the decision stands either way.
"""

import logging

import requests
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.permissions import AllowAny
from rest_framework.request import Request

from console.chat.decide import callback_handle
from console.chat.providers import PROVIDERS, Call, Unreadable
from core import http
from core.problems import problem_response
from core.throttling import ChannelRateThrottle
from notifications.models import Channel

logger = logging.getLogger(__name__)


@extend_schema(
    summary="What people do with a report's buttons in chat",
    description=(
        "Posted by Telegram, Slack, Discord and LINE, signed the provider's way with the "
        "channel's secret (a bad signature: 401). The body and the 200 answer are the "
        "provider's own. Limited per channel by PLS_CHANNEL_RATE_LIMIT, signed or not."
    ),
    request={
        "application/json": OpenApiTypes.OBJECT,
        "application/x-www-form-urlencoded": OpenApiTypes.OBJECT,
    },
    responses={
        200: OpenApiResponse(description="Handled; the answer is the provider's own"),
        401: OpenApiResponse(description="The provider's signature is missing or not valid"),
        404: OpenApiResponse(description="No such channel, or one that takes no interactions"),
    },
    auth=[],
)
@api_view(["POST"])
@authentication_classes([])  # no cookies or tokens: the provider's signature is checked below
@permission_classes([AllowAny])
@throttle_classes([ChannelRateThrottle])
def channel_interactions(request: Request, pk: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=pk)
    provider_class = PROVIDERS.get(channel.kind)
    if provider_class is None or not channel.takes_interactions:
        logger.warning("interaction for channel %s, which takes none", channel)
        return problem_response(
            404, gettext("Not Found"), gettext("This channel takes no interactions."), "not-found"
        )
    provider = provider_class(channel)
    refused = provider.verify(request)
    if refused:
        logger.warning("interaction for channel %s refused: %s", channel, refused)
        return problem_response(
            401,
            gettext("Unauthorized"),
            gettext("The request's signature is not valid: %(refusal)s.") % {"refusal": refused},
            "bad-signature",
        )
    try:
        callbacks = provider.parse(request)
    except Unreadable as error:
        return problem_response(400, gettext("Bad Request"), str(error), "bad-interaction")
    handled = [(cb, callback_handle(channel=channel, callback=cb)) for cb in callbacks]
    answer = provider.answer(handled)
    for call in answer.calls:
        _call(channel, call)
    return answer.response


def _call(channel: Channel, call: Call) -> None:
    try:
        response = http.post_json(
            call.url, call.payload, headers=call.headers, guarded=call.guarded
        )
    except (requests.RequestException, http.BlockedAddress) as error:
        logger.warning("channel %s: answering in chat failed: %s", channel, type(error).__name__)
        return
    if not 200 <= response.status_code < 300:
        logger.warning("channel %s: answering in chat got HTTP %s", channel, response.status_code)
