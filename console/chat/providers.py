"""Each chat provider's side of a callback: how it signs one, what it says, and how it is
answered. One small class per provider, like the transports that send the reports.

``verify`` checks the provider's signature over the exact bytes received (a failure is the
reason, for the 401 and the log); ``parse`` reads the callbacks in the body; ``answer`` turns
an ``Outcome`` into the HTTP answer and the provider API calls that follow it (Telegram's
answerCallbackQuery and editMessageReplyMarkup, Slack's response_url, LINE's reply; Discord
answers in the HTTP response itself).
"""

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext

from core.secrets import opened
from notifications.models import Channel


class Unreadable(Exception):
    """A verified body we cannot read: answered 400."""


@dataclass
class Callback:
    """One thing a person did in chat: pressed a button (``data``), sent text (``text``),
    or, for Discord, nothing at all (``ping``)."""

    event_id: str
    user_id: str = ""
    user_name: str = ""
    data: str = ""
    text: str = ""
    ping: bool = False
    # What answering needs: the provider's ids, tokens and the original message.
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What to tell the person, and whether the question is settled (decided now or
    before, expired, gone), in which case the message loses its buttons."""

    text: str
    settled: bool = False


@dataclass(frozen=True)
class Call:
    """A provider API call made after the callback was handled."""

    url: str
    payload: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    # Slack's response_url comes from the (verified) callback: it goes through the SSRF guard.
    guarded: bool = False


@dataclass
class Answer:
    response: HttpResponse
    calls: list[Call] = field(default_factory=list)


def _ok() -> HttpResponse:
    return JsonResponse({})


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Unreadable(gettext("The body is not JSON.")) from None


def _fresh(timestamp: str) -> str:
    """Why a provider's signed timestamp is refused ("" when it is recent enough)."""
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        return "the timestamp header is missing or not a number"
    if age > settings.PLS_CHAT_MAX_AGE_SECONDS:
        return f"the request was signed {int(age)} s away from now (stale or replayed)"
    return ""


class Provider:
    kind: ClassVar[str]

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def verify(self, request: HttpRequest) -> str:
        raise NotImplementedError

    def parse(self, request: HttpRequest) -> list[Callback]:
        raise NotImplementedError

    def answer(self, callbacks: list[tuple[Callback, Outcome | None]]) -> Answer:
        """The answer to a body's callbacks, each with its outcome (None: nothing to say)."""
        raise NotImplementedError

    def secret(self) -> bytes:
        return opened(self.channel.interaction_secret).encode()


class Telegram(Provider):
    """Inline keyboards. Telegram posts every update to the webhook set with ``setWebhook``
    and sends the ``secret_token`` given there in ``X-Telegram-Bot-Api-Secret-Token``."""

    kind = Channel.Kind.TELEGRAM

    def verify(self, request: HttpRequest) -> str:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not given or not hmac.compare_digest(given.encode(), self.secret()):
            return "X-Telegram-Bot-Api-Secret-Token does not match the channel's secret"
        return ""

    def parse(self, request: HttpRequest) -> list[Callback]:
        update = _json(request.body)
        if not isinstance(update, dict) or "update_id" not in update:
            raise Unreadable(gettext("Not a Telegram Update."))
        event_id = f"update:{update['update_id']}"
        query = update.get("callback_query")
        if isinstance(query, dict):
            sender = query.get("from") or {}
            message = query.get("message") or {}
            return [
                Callback(
                    event_id=event_id,
                    user_id=str(sender.get("id", "")),
                    user_name=_telegram_name(sender),
                    data=str(query.get("data", "")),
                    context={
                        "callback_query_id": query.get("id"),
                        "chat_id": (message.get("chat") or {}).get("id"),
                        "message_id": message.get("message_id"),
                    },
                )
            ]
        message = update.get("message")
        if isinstance(message, dict) and isinstance(message.get("text"), str):
            sender = message.get("from") or {}
            return [
                Callback(
                    event_id=event_id,
                    user_id=str(sender.get("id", "")),
                    user_name=_telegram_name(sender),
                    text=message["text"],
                    context={"chat_id": (message.get("chat") or {}).get("id")},
                )
            ]
        return [Callback(event_id=event_id)]  # an update we do not act on

    def answer(self, callbacks: list[tuple[Callback, Outcome | None]]) -> Answer:
        base = self.channel.api_base or settings.PLS_NOTIFY_TELEGRAM_API_BASE
        api = f"{base.rstrip('/')}/bot{self.channel.token}"
        calls: list[Call] = []
        for callback, outcome in callbacks:
            if outcome is None:
                continue
            context = callback.context
            if context.get("callback_query_id"):
                calls.append(
                    Call(
                        f"{api}/answerCallbackQuery",
                        {
                            "callback_query_id": context["callback_query_id"],
                            "text": outcome.text[:200],
                            "show_alert": not outcome.settled,
                        },
                    )
                )
                if outcome.settled and context.get("message_id") is not None:
                    calls.append(
                        Call(
                            f"{api}/editMessageReplyMarkup",
                            {
                                "chat_id": context["chat_id"],
                                "message_id": context["message_id"],
                                "reply_markup": {"inline_keyboard": []},
                            },
                        )
                    )
            elif context.get("chat_id") is not None:
                calls.append(
                    Call(
                        f"{api}/sendMessage", {"chat_id": context["chat_id"], "text": outcome.text}
                    )
                )
        return Answer(_ok(), calls)


def _telegram_name(sender: dict[str, Any]) -> str:
    if sender.get("username"):
        return f"@{sender['username']}"
    return " ".join(filter(None, [sender.get("first_name"), sender.get("last_name")]))


class Slack(Provider):
    """Block Kit buttons and a ``/pls-link`` slash command, both posted form-encoded to the
    app's Request URL and signed with the app's signing secret (v0, with a timestamp)."""

    kind = Channel.Kind.SLACK

    def verify(self, request: HttpRequest) -> str:
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        if stale := _fresh(timestamp):
            return stale
        base = b"v0:" + timestamp.encode() + b":" + request.body
        expected = "v0=" + hmac.new(self.secret(), base, hashlib.sha256).hexdigest()
        given = request.headers.get("X-Slack-Signature", "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return "X-Slack-Signature does not match the signing secret"
        return ""

    def parse(self, request: HttpRequest) -> list[Callback]:
        try:
            form = {
                k: v[0] for k, v in parse_qs(request.body.decode(), strict_parsing=True).items()
            }
        except (ValueError, UnicodeDecodeError):
            raise Unreadable(gettext("Not a form-encoded Slack request.")) from None
        if "payload" not in form:  # a slash command
            return [
                Callback(
                    event_id=f"command:{form.get('trigger_id', '')}",
                    user_id=form.get("user_id", ""),
                    user_name=form.get("user_name", ""),
                    text=f"/link {form.get('text', '')}",
                    context={"command": True},
                )
            ]
        payload = _json(form["payload"].encode())
        if not isinstance(payload, dict) or payload.get("type") != "block_actions":
            return [Callback(event_id="")]
        user = payload.get("user") or {}
        actions = payload.get("actions") or [{}]
        return [
            Callback(
                event_id=f"action:{payload.get('trigger_id') or actions[0].get('action_ts')}",
                user_id=str(user.get("id", "")),
                user_name=str(user.get("username") or user.get("name") or ""),
                data=str(actions[0].get("value", "")),
                context={
                    "response_url": payload.get("response_url"),
                    "message": payload.get("message") or {},
                },
            )
        ]

    def answer(self, callbacks: list[tuple[Callback, Outcome | None]]) -> Answer:
        calls: list[Call] = []
        for callback, outcome in callbacks:
            if outcome is None:
                continue
            if callback.context.get("command"):
                # A slash command is answered in the response itself, to the sender only.
                return Answer(JsonResponse({"response_type": "ephemeral", "text": outcome.text}))
            url = callback.context.get("response_url")
            if not url:
                continue
            if outcome.settled:
                message = callback.context["message"]
                blocks = [b for b in message.get("blocks", []) if b.get("type") != "actions"]
                blocks.append(
                    {"type": "context", "elements": [{"type": "plain_text", "text": outcome.text}]}
                )
                payload: dict[str, Any] = {
                    "replace_original": True,
                    "text": f"{message.get('text', '')}\n{outcome.text}".strip(),
                    "blocks": blocks,
                }
            else:
                payload = {
                    "response_type": "ephemeral",
                    "replace_original": False,
                    "text": outcome.text,
                }
            calls.append(Call(url, payload, guarded=True))
        return Answer(_ok(), calls)


class Discord(Provider):
    """Message components and a ``/link`` application command. Discord posts interactions
    to the application's Interactions Endpoint URL, signed with Ed25519 over the timestamp
    and the body, and takes the answer in the response (type 7 updates the message)."""

    kind = Channel.Kind.DISCORD

    def verify(self, request: HttpRequest) -> str:
        timestamp = request.headers.get("X-Signature-Timestamp", "")
        if stale := _fresh(timestamp):
            return stale
        try:
            key = Ed25519PublicKey.from_public_bytes(
                bytes.fromhex(self.channel.interaction_public_key)
            )
            signature = bytes.fromhex(request.headers.get("X-Signature-Ed25519", ""))
            key.verify(signature, timestamp.encode() + request.body)
        except (ValueError, InvalidSignature):
            return "X-Signature-Ed25519 does not verify against the application's public key"
        return ""

    def parse(self, request: HttpRequest) -> list[Callback]:
        interaction = _json(request.body)
        if not isinstance(interaction, dict):
            raise Unreadable(gettext("Not a Discord interaction."))
        kind = interaction.get("type")
        if kind == 1:
            return [Callback(event_id="", ping=True)]
        user = (interaction.get("member") or {}).get("user") or interaction.get("user") or {}
        data = interaction.get("data") or {}
        callback = Callback(
            event_id=f"interaction:{interaction.get('id', '')}",
            user_id=str(user.get("id", "")),
            user_name=str(user.get("global_name") or user.get("username") or ""),
            context={"message": interaction.get("message") or {}},
        )
        if kind == 3:
            callback.data = str(data.get("custom_id", ""))
        elif kind == 2:
            options = {o.get("name"): o.get("value") for o in data.get("options") or []}
            callback.text = f"/{data.get('name', '')} {options.get('code', '')}"
        return [callback]

    def answer(self, callbacks: list[tuple[Callback, Outcome | None]]) -> Answer:
        (callback, outcome), *_ = callbacks
        if callback.ping:
            return Answer(JsonResponse({"type": 1}))
        if outcome is None:
            return Answer(JsonResponse({"type": 4, "data": {"content": "…", "flags": 64}}))
        if outcome.settled and callback.data:
            content = callback.context["message"].get("content", "")
            return Answer(
                JsonResponse(
                    {
                        "type": 7,  # UPDATE_MESSAGE: the outcome replaces the buttons
                        "data": {
                            "content": f"{content}\n{outcome.text}".strip()[:2000],
                            "components": [],
                            "allowed_mentions": {"parse": []},
                        },
                    }
                )
            )
        # An ephemeral message: only the person who pressed (or typed) sees it.
        return Answer(JsonResponse({"type": 4, "data": {"content": outcome.text, "flags": 64}}))


class Line(Provider):
    """Postback actions of a confirm template, and text messages. LINE signs each webhook
    with ``X-Line-Signature``: base64 of the HMAC-SHA256 of the body under the channel
    secret. Sent messages cannot be edited, so the outcome is a reply."""

    kind = Channel.Kind.LINE

    def verify(self, request: HttpRequest) -> str:
        expected = base64.b64encode(hmac.new(self.secret(), request.body, hashlib.sha256).digest())
        given = request.headers.get("X-Line-Signature", "").encode()
        if not given or not hmac.compare_digest(given, expected):
            return "X-Line-Signature does not match the channel secret"
        return ""

    def parse(self, request: HttpRequest) -> list[Callback]:
        body = _json(request.body)
        if not isinstance(body, dict) or not isinstance(body.get("events"), list):
            raise Unreadable(gettext("Not a LINE webhook."))
        callbacks = []
        for event in body["events"]:
            source = event.get("source") or {}
            callback = Callback(
                event_id=f"event:{event.get('webhookEventId', '')}",
                user_id=str(source.get("userId", "")),
                context={"reply_token": event.get("replyToken")},
            )
            if event.get("type") == "postback":
                callback.data = str((event.get("postback") or {}).get("data", ""))
            elif event.get("type") == "message":
                callback.text = str((event.get("message") or {}).get("text", ""))
            callbacks.append(callback)
        return callbacks

    def answer(self, callbacks: list[tuple[Callback, Outcome | None]]) -> Answer:
        base = self.channel.api_base or settings.PLS_NOTIFY_LINE_API_BASE
        calls = [
            Call(
                f"{base.rstrip('/')}/v2/bot/message/reply",
                {
                    "replyToken": callback.context["reply_token"],
                    "messages": [{"type": "text", "text": outcome.text[:5000]}],
                },
                headers={"Authorization": f"Bearer {self.channel.token}"},
            )
            for callback, outcome in callbacks
            if outcome is not None and callback.context.get("reply_token")
        ]
        return Answer(_ok(), calls)


PROVIDERS: dict[str, type[Provider]] = {p.kind: p for p in (Telegram, Slack, Discord, Line)}
