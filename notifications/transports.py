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
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import timezone

from core import http
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


def next_month_start(now: datetime) -> datetime:
    """Midnight of the first of next month where the owner lives (``PLS_TIME_ZONE``, by
    default Asia/Taipei), when monthly quotas such as LINE's start again."""
    zone = ZoneInfo(getattr(settings, "PLS_TIME_ZONE", "") or "Asia/Taipei")
    local = now.astimezone(zone)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(year, month, 1, tzinfo=zone).astimezone(UTC)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Transport:
    """Sends to one channel. Subclasses implement ``send``."""

    # Longest text the provider accepts in one message.
    max_text: ClassVar[int] = 4000

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def send(self, message: Message) -> None:
        raise NotImplementedError

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

    def send(self, message: Message) -> None:
        response = self.post(
            self.channel.url,
            {
                "content": _truncate(message.text, self.max_text),
                # A title quoting "@everyone" must not ping a whole server.
                "allowed_mentions": {"parse": []},
            },
        )
        retry_after = None
        if response.status_code == 429:
            try:
                retry_after = float(response.json().get("retry_after"))
            except (ValueError, TypeError, AttributeError):
                retry_after = None
        self.check(response, retry_after=retry_after)


class SlackTransport(Transport):
    max_text = 3000

    def send(self, message: Message) -> None:
        # Slack reads &, < and > as markup; escaped, a report cannot inject links or mentions.
        text = message.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        self.check(self.post(self.channel.url, {"text": _truncate(text, self.max_text)}))


class TelegramTransport(Transport):
    max_text = 4096

    def send(self, message: Message) -> None:
        base = self.channel.api_base or settings.PLS_NOTIFY_TELEGRAM_API_BASE
        response = self.post(
            f"{base.rstrip('/')}/bot{self.channel.token}/sendMessage",
            {
                "chat_id": self.channel.target,
                # Plain text: no parse_mode, so nothing in a report needs escaping.
                "text": _truncate(message.text, self.max_text),
                "disable_web_page_preview": True,
            },
        )
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


class LineTransport(Transport):
    max_text = 5000

    def send(self, message: Message) -> None:
        base = self.channel.api_base or settings.PLS_NOTIFY_LINE_API_BASE
        # The same key for every attempt at this report on this channel: if an earlier
        # attempt reached LINE but its answer was lost, LINE refuses the repeat (409) instead
        # of delivering the message twice.
        retry_key = uuid.uuid5(
            uuid.NAMESPACE_URL, f"pls-report:{self.channel.pk}:{message.report_id}"
        )
        response = self.post(
            f"{base.rstrip('/')}/v2/bot/message/push",
            {
                "to": self.channel.target,
                "messages": [{"type": "text", "text": _truncate(message.text, self.max_text)}],
            },
            headers={
                "Authorization": f"Bearer {self.channel.token}",
                "X-Line-Retry-Key": str(retry_key),
            },
        )
        if response.status_code == 409 and response.headers.get("x-line-accepted-request-id"):
            return  # accepted by an earlier attempt
        if response.status_code == 429 and _line_message(response) == LINE_MONTHLY_LIMIT:
            until = next_month_start(timezone.now())
            raise TransportError(
                f"LINE monthly message limit reached; paused until {until:%Y-%m-%d %H:%M} UTC",
                until=until,
            )
        self.check(response)


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

    def send(self, message: Message) -> None:
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


class EmailTransport(Transport):
    def send(self, message: Message) -> None:
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


TRANSPORTS: dict[str, type[Transport]] = {
    Channel.Kind.DISCORD: DiscordTransport,
    Channel.Kind.SLACK: SlackTransport,
    Channel.Kind.TELEGRAM: TelegramTransport,
    Channel.Kind.LINE: LineTransport,
    Channel.Kind.WEBHOOK: WebhookTransport,
    Channel.Kind.EMAIL: EmailTransport,
}


def transport_for(channel: Channel) -> Transport:
    return TRANSPORTS[channel.kind](channel)
