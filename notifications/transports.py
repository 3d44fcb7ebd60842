"""One small class per provider. Each sends one rendered message or raises ``TransportError``
saying whether trying again can help (``permanent``) and how long the provider asked us to
wait (``retry_after``). All HTTP goes through ``core.http``.
"""

import email.utils
import smtplib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import timezone

from core import http
from core.clock import next_month_start, when
from notifications.buttons import Button
from notifications.models import Channel

# Statuses that mean "this request will never succeed as configured": the webhook is gone,
# the credentials are wrong, or the provider rejects the message itself.
_PERMANENT_STATUSES = {400, 401, 403, 404, 405, 410, 413, 422}
# 4xx statuses worth another try.
_TRANSIENT_4XX = {408, 409, 425, 429}
_ERROR_BODY_CHARS = 300


class TransportError(Exception):
    """``until``: the provider will refuse everything before then (a spent quota): not a
    passing failure to back off from, and not a refusal of this report in particular."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        until: datetime | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.until = until


@dataclass(frozen=True)
class Message:
    """A report rendered for sending. Built from the report alone: it holds no secret."""

    report_id: int
    source: str
    status: str
    title: str
    subject: str
    text: str
    fields: dict[str, Any]
    # The absolute address of the record ("" without PLS_PUBLIC_URL), and the decision
    # buttons; a channel that takes no interactions leaves the buttons out.
    link: str = ""
    buttons: tuple[Button, ...] = ()


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _json_path(response: requests.Response, *path: str | int) -> str | None:
    """The value at ``path`` in a JSON answer, as text; None when it is not there."""
    try:
        value: Any = response.json()
        for step in path:
            value = value[step]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return str(value) if value is not None else None


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Transport:
    """Sends to one channel. Subclasses implement ``send``."""

    # Longest text the provider accepts in one message.
    max_text: ClassVar[int] = 4000

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def send(self, message: Message) -> str | None:
        """Sends ``message``; returns the provider's id of the message sent, if it gives one."""
        raise NotImplementedError

    def buttons(self, message: Message) -> tuple[Button, ...]:
        """The message's decision buttons, if this channel can verify their callbacks."""
        return message.buttons if self.channel.takes_interactions else ()

    def scrub(self, text: str) -> str:
        """``text`` with every credential of this channel cut out.

        Error texts end up in the report's ``last_error``, the console and logs; requests'
        exception messages include the URL, which for webhooks and Telegram is the secret.
        """
        for name in Channel.SECRET_FIELDS:
            secret = getattr(self.channel, name)
            if secret:
                text = text.replace(secret, f"[{name}]")
                path = urlsplit(secret).path if name == "url" else ""
                if len(path) > 1:
                    text = text.replace(path, "/[url-path]")
        return text

    def post(self, url: str, payload: Any, **kwargs: Any) -> requests.Response:
        try:
            return http.post_json(url, payload, **kwargs)
        except requests.Timeout as exc:
            raise TransportError(self.scrub(f"timed out: {exc}")) from None
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.InvalidSchema,
            requests.exceptions.MissingSchema,
        ) as exc:
            # The channel's address itself is wrong: no retry will fix it.
            message = self.scrub(f"{type(exc).__name__}: {exc}")
            raise TransportError(message, permanent=True) from None
        except requests.RequestException as exc:
            raise TransportError(self.scrub(f"{type(exc).__name__}: {exc}")) from None

    def check(self, response: requests.Response, *, retry_after: float | None = None) -> None:
        """Raises for any answer but 2xx, classifying it as permanent or transient."""
        code = response.status_code
        if 200 <= code < 300:
            return
        host = urlsplit(response.url).hostname or "?"
        body = " ".join(response.text[:_ERROR_BODY_CHARS].split())
        detail = self.scrub(f"HTTP {code} from {host}: {body}".rstrip(": "))
        if 300 <= code < 400:
            raise TransportError(f"{detail} (redirect not followed)", permanent=True)
        if code == 429:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            raise TransportError(detail, retry_after=wait if wait is not None else retry_after)
        permanent = code in _PERMANENT_STATUSES or (
            400 <= code < 500 and code not in _TRANSIENT_4XX
        )
        raise TransportError(detail, permanent=permanent)


class DiscordTransport(Transport):
    max_text = 2000

    def send(self, message: Message) -> str | None:
        payload: dict[str, Any] = {
            "content": _truncate(message.text, self.max_text),
            # A title quoting "@everyone" must not ping a whole server.
            "allowed_mentions": {"parse": []},
        }
        buttons = self.buttons(message)
        if buttons:
            # Message components: pressed, Discord posts an interaction to the application's
            # interactions endpoint. Only an application-owned webhook may carry them.
            payload["components"] = [
                {
                    "type": 1,
                    "components": [
                        {
                            "type": 2,
                            "style": 3 if button.approve else 4,
                            "label": button.label,
                            "custom_id": button.data,
                        }
                        for button in buttons
                    ],
                }
            ]
        # wait=true: Discord answers with the message, whose id the report keeps.
        url = self.channel.url + ("&" if "?" in self.channel.url else "?") + "wait=true"
        response = self.post(url if buttons else self.channel.url, payload)
        retry_after = None
        if response.status_code == 429:
            try:
                retry_after = float(response.json().get("retry_after"))
            except (ValueError, TypeError, AttributeError):
                retry_after = None
        self.check(response, retry_after=retry_after)
        return _json_path(response, "id") if buttons else None


class SlackTransport(Transport):
    max_text = 3000

    def send(self, message: Message) -> str | None:
        # Slack reads &, < and > as markup; escaped, a report cannot inject links or mentions.
        text = message.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        payload: dict[str, Any] = {"text": _truncate(text, self.max_text)}
        buttons = self.buttons(message)
        if buttons:
            # Block Kit: the text as plain_text (no markup at all), then the buttons, which
            # Slack posts to the app's Interactivity Request URL.
            payload["blocks"] = [
                {
                    "type": "section",
                    "text": {"type": "plain_text", "text": _truncate(message.text, self.max_text)},
                },
                {
                    "type": "actions",
                    "block_id": "pls_decision",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": f"pls_{'approve' if button.approve else 'reject'}",
                            "text": {"type": "plain_text", "text": button.label},
                            "style": "primary" if button.approve else "danger",
                            "value": button.data,
                        }
                        for button in buttons
                    ],
                },
            ]
        self.check(self.post(self.channel.url, payload))
        return None  # an incoming webhook answers "ok", no message id


class TelegramTransport(Transport):
    max_text = 4096

    def send(self, message: Message) -> str | None:
        base = self.channel.api_base or settings.PLS_NOTIFY_TELEGRAM_API_BASE
        payload: dict[str, Any] = {
            "chat_id": self.channel.target,
            # Plain text: no parse_mode, so nothing in a report needs escaping.
            "text": _truncate(message.text, self.max_text),
            "disable_web_page_preview": True,
        }
        buttons = self.buttons(message)
        if buttons:
            # An inline keyboard: pressed, Telegram posts a callback_query to our webhook.
            payload["reply_markup"] = {
                "inline_keyboard": [
                    [{"text": button.label, "callback_data": button.data} for button in buttons]
                ]
            }
        response = self.post(f"{base.rstrip('/')}/bot{self.channel.token}/sendMessage", payload)
        retry_after = None
        if response.status_code == 429:
            try:
                retry_after = float(response.json()["parameters"]["retry_after"])
            except (ValueError, TypeError, KeyError):
                retry_after = None
        self.check(response, retry_after=retry_after)
        try:
            ok = response.json().get("ok")
        except ValueError:
            ok = None
        if ok is not True:
            raise TransportError(
                self.scrub(f"Telegram answered {response.status_code} without ok=true"),
                permanent=False,
            )
        return _json_path(response, "result", "message_id")


class LineTransport(Transport):
    max_text = 5000
    # A confirm template's text is at most 240 characters.
    max_question = 240

    def send(self, message: Message) -> str | None:
        base = self.channel.api_base or settings.PLS_NOTIFY_LINE_API_BASE
        # The same key for every attempt at this report on this channel: if an earlier
        # attempt reached LINE but its answer was lost, LINE refuses the repeat (409) instead
        # of delivering the message twice.
        retry_key = uuid.uuid5(
            uuid.NAMESPACE_URL, f"pls-report:{self.channel.pk}:{message.report_id}"
        )
        messages: list[dict[str, Any]] = [
            {"type": "text", "text": _truncate(message.text, self.max_text)}
        ]
        buttons = self.buttons(message)
        if buttons:
            # A confirm template: its postback actions come back to our webhook.
            messages.append(
                {
                    "type": "template",
                    "altText": _truncate(f"Decide: {message.title}", 400),
                    "template": {
                        "type": "confirm",
                        "text": _truncate(message.title, self.max_question),
                        "actions": [
                            {
                                "type": "postback",
                                "label": button.label,
                                "data": button.data,
                                "displayText": button.label,
                            }
                            for button in buttons
                        ],
                    },
                }
            )
        response = self.post(
            f"{base.rstrip('/')}/v2/bot/message/push",
            {"to": self.channel.target, "messages": messages},
            headers={
                "Authorization": f"Bearer {self.channel.token}",
                "X-Line-Retry-Key": str(retry_key),
            },
        )
        if response.status_code == 409 and response.headers.get("x-line-accepted-request-id"):
            return None  # accepted by an earlier attempt
        if response.status_code == 429 and _line_message(response) == LINE_MONTHLY_LIMIT:
            until = next_month_start(timezone.now())
            raise TransportError(
                f"LINE monthly message limit reached; paused until {when(until)}",
                until=until,
            )
        self.check(response)
        return _json_path(response, "sentMessages", 0, "id")


# LINE's answer (429) once the channel's monthly message quota is spent: every push fails
# until the month ends, so retrying with backoff only delays the fallback.
LINE_MONTHLY_LIMIT = "You have reached your monthly limit."


def _line_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("message", "")) if isinstance(body, dict) else ""


class WebhookTransport(Transport):
    """The report as JSON, signed the Standard Webhooks way (``webhook-id`` is the report's,
    the same on every attempt); the legacy ``X-PLS-Signature`` only when the channel asks."""

    def send(self, message: Message) -> str | None:
        channel = self.channel
        legacy = channel.legacy_signature and channel.signing_secret
        self.check(
            self.post(
                channel.url,
                {**message.fields, "text": message.text},
                webhook_id=f"msg_pls_report_{message.report_id}",
                webhook_secrets=channel.webhook_secrets(timezone.now()),
                signing_key=channel.signing_secret.encode() if legacy else None,
                headers={"X-PLS-Report-Id": str(message.report_id), "X-PLS-Event": message.source},
            )
        )
        return None


class EmailTransport(Transport):
    def send(self, message: Message) -> str | None:
        email_message = EmailMessage(
            subject=message.subject,
            body=message.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=self.channel.recipients,
            headers={"X-PLS-Report-Id": str(message.report_id)},
            connection=get_connection(timeout=settings.EMAIL_TIMEOUT),
        )
        try:
            email_message.send(fail_silently=False)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}", permanent=True) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise TransportError(
                f"SMTP authentication failed ({exc.smtp_code})", permanent=True
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise TransportError(
                f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=500 <= exc.smtp_code < 600
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from None
        return None


TRANSPORTS: dict[str, type[Transport]] = {
    Channel.Kind.DISCORD: DiscordTransport,
    Channel.Kind.SLACK: SlackTransport,
    Channel.Kind.TELEGRAM: TelegramTransport,
    Channel.Kind.LINE: LineTransport,
    Channel.Kind.WEBHOOK: WebhookTransport,
    Channel.Kind.EMAIL: EmailTransport,
}


class SecretsUnopened(Transport):
    """A channel whose sealed secrets no configured key opens: nothing is sent without them,
    and its reports wait (backing off, then to the fallback) until the key is back or the
    owner enters the secrets again."""

    def send(self, message: Message) -> str | None:
        raise TransportError(
            f"{', '.join(self.channel.unopened_secrets())} cannot be opened with "
            "PLS_SECRET_ENCRYPTION_KEYS: put back the key it was sealed with, or enter it again"
        )


def transport_for(channel: Channel) -> Transport:
    if channel.unopened_secrets():
        return SecretsUnopened(channel)
    return TRANSPORTS[channel.kind](channel)
