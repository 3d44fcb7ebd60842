"""Fixtures for the outbox tests: a real local HTTP server plays each provider."""

import json
from collections.abc import Callable

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from notifications.drain import DrainResult, outbox_drain_channel
from notifications.models import Channel, OwnerReport
from notifications.services import report_enqueue
from tests.factories import ChannelFactory

TELEGRAM_TOKEN = "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
LINE_TOKEN = "line-channel-access-token-do-not-leak"


@pytest.fixture(autouse=True)
def quick_timeouts(settings):
    """Tests wait seconds, not the production ten, on a peer that does not answer."""
    settings.PLS_HTTP_CONNECT_TIMEOUT = 1.0
    settings.PLS_HTTP_READ_TIMEOUT = 2.0


@pytest.fixture
def make_channel(httpserver: HTTPServer) -> Callable[..., Channel]:
    """Creates a channel of ``kind`` whose provider is a path on the local server."""

    def make(name: str, kind: str = "webhook", **fields) -> Channel:
        defaults: dict = {"name": name, "kind": kind}
        if kind in {"webhook", "discord", "slack"}:
            defaults["url"] = httpserver.url_for(f"/{kind}/{name}")
        if kind == "telegram":
            defaults.update(
                token=TELEGRAM_TOKEN, target="-100123", api_base=httpserver.url_for("/telegram")
            )
        if kind == "line":
            defaults.update(token=LINE_TOKEN, target="U123", api_base=httpserver.url_for("/line"))
        if kind == "email":
            defaults.update(target="owner@example.com", url="", signing_secret="")
        defaults.update(fields)
        return ChannelFactory(**defaults)

    return make


def provider_path(channel: Channel) -> str:
    """The path on the local server where ``channel``'s provider receives messages."""
    if channel.kind == "telegram":
        return f"/telegram/bot{channel.token}/sendMessage"
    if channel.kind == "line":
        return "/line/v2/bot/message/push"
    return f"/{channel.kind}/{channel.name}"


def answer(httpserver: HTTPServer, channel: Channel, status: int = 200, **kwargs) -> None:
    """Makes the provider answer every message for ``channel`` with ``status``."""
    body = kwargs.pop("json", {"ok": True} if channel.kind == "telegram" else {})
    httpserver.expect_request(provider_path(channel), method="POST").respond_with_json(
        body, status=status, **kwargs
    )


def answer_with(httpserver: HTTPServer, channel: Channel, handler: Callable[[Request], Response]):
    httpserver.expect_request(provider_path(channel), method="POST").respond_with_handler(handler)


def received(httpserver: HTTPServer, channel: Channel) -> list[dict]:
    """JSON bodies the provider received for ``channel``, in arrival order."""
    path = provider_path(channel)
    return [json.loads(request.get_data()) for request, _ in httpserver.log if request.path == path]


def received_ids(httpserver: HTTPServer, channel: Channel) -> list[int]:
    """Report ids a generic-webhook channel received, in arrival order."""
    return [body["id"] for body in received(httpserver, channel)]


def drain(channel: Channel, **kwargs) -> DrainResult:
    return outbox_drain_channel(channel_id=channel.pk, follow_up=False, **kwargs)


def raise_reports(count: int, **fields) -> list[OwnerReport]:
    """Enqueues ``count`` reports titled "report 0", "report 1"… for any owner channel."""
    reports: list[OwnerReport] = []
    for index in range(count):
        reports.extend(report_enqueue(source="test.report", title=f"report {index}", **fields))
    return reports


def states(channel: Channel) -> list[str]:
    return list(channel.reports.order_by("pk").values_list("state", flat=True))
