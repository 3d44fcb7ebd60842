"""Approving from chat: a pending self-heal request, the people around it, and a local HTTP
server (pytest-httpserver) standing in for each provider's API host. The callbacks
themselves are built and signed with the providers' own SDKs, in each provider's tests."""

import json
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from pytest_httpserver import HTTPServer

from notifications.chat import chat_identity_link, chat_link_code_issue
from notifications.models import Channel, ChatIdentity
from repairs.models import SelfHealRequest
from tests.factories import ChannelFactory, event_body

EVENTS = "/api/v1/worker-repair-events"
REQUESTS = "/api/v1/self-heal-requests"
TELEGRAM_TOKEN = "7000000002:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
LINE_TOKEN = "line-channel-access-token-for-chat-tests"
SECRET = "interaction-secret-do-not-leak"


@pytest.fixture(autouse=True)
def quick_timeouts(settings):
    settings.PLS_HTTP_CONNECT_TIMEOUT = 1.0
    settings.PLS_HTTP_READ_TIMEOUT = 2.0


@pytest.fixture
def chat_channel(db, httpserver: HTTPServer) -> Callable[..., Channel]:
    """A channel of ``kind`` that takes interactions; its provider API is the local server."""

    def make(kind: str, **fields) -> Channel:
        defaults: dict = {"name": f"{kind}-reviewers", "kind": kind, "signing_secret": ""}
        if kind == "telegram":
            defaults.update(
                token=TELEGRAM_TOKEN, target="-100123", api_base=httpserver.url_for("/telegram")
            )
        elif kind == "line":
            defaults.update(token=LINE_TOKEN, target="C123", api_base=httpserver.url_for("/line"))
        else:
            defaults["url"] = httpserver.url_for(f"/{kind}/webhook")
        defaults.update(fields)
        channel = ChannelFactory(**defaults)
        if kind != "discord":
            channel.interaction_secret = SECRET
            channel.save()
        return channel

    return make


def interactions_url(channel: Channel) -> str:
    return f"/api/v1/channels/{channel.pk}/interactions"


@pytest.fixture
def pending(worker_client) -> SelfHealRequest:
    """A release the policy sends to the risk reviewer: pending."""
    body = worker_client.post(EVENTS, event_body(action="release"), format="json").json()
    return SelfHealRequest.objects.get(pk=body["self_heal_request"])


def linked(channel: Channel, user, provider_user_id: str, name: str = "") -> ChatIdentity:
    """Links ``provider_user_id`` on ``channel``'s provider to ``user`` with a real code."""
    return chat_identity_link(
        channel=channel,
        provider_user_id=provider_user_id,
        display_name=name,
        code=chat_link_code_issue(user=user),
    )


@pytest.fixture
def requester_in_role(worker):
    """The worker that asked, wrongly given the approving role too: only four-eyes stops it."""
    worker.user.groups.add(Group.objects.get(name="risk_reviewer"))
    return worker.user


def polled_status(worker_client, request: SelfHealRequest) -> str:
    return worker_client.get(f"{REQUESTS}/{request.pk}").json()["status"]


def calls_to(httpserver: HTTPServer, path: str) -> list[dict]:
    """JSON bodies the provider's API received at ``path``, in order."""
    return [json.loads(r.get_data()) for r, _ in httpserver.log if r.path == path]


@pytest.fixture
def post() -> Callable[..., object]:
    client = Client()

    def send(channel: Channel, body: bytes, content_type: str, **headers: str):
        return client.post(
            interactions_url(channel), data=body, content_type=content_type, headers=headers
        )

    return send
