"""The one way this package talks to the console (as healthchecks' one HTTP wrapper): bearer
token, JSON, problem documents turned into exceptions, retries with backoff that honour
``Retry-After``, and an ``Idempotency-Key`` on every write that stays the same across the
retries of that write."""

import json
import uuid
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx2
import stamina
import stamina.instrumentation

from pls_client import __version__
from pls_client.config import Config
from pls_client.errors import PlsError, ProblemAnswer, ServerUnavailable
from pls_client.i18n import _

# Answers worth asking again: rate limited, or a proxy / the console briefly unavailable.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# A Retry-After longer than this is not waited out in a command or a hook; the answer is
# reported instead (the agent is waiting on us).
MAX_RETRY_AFTER_SECONDS = 30.0


class _AskAgain(Exception):
    """An answer in RETRY_STATUSES, carried to the retry loop."""

    def __init__(self, response: httpx2.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


# stamina logs each scheduled retry through the logging module's last-resort handler: that
# would land on stderr, which a hook's agent reads as the reason for its verdict.
stamina.instrumentation.set_on_retry_hooks([])


def retry_after_seconds(response: httpx2.Response) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _backoff(error: Exception) -> bool | float:
    """stamina's backoff hook: retry transport failures with exponential backoff, and the
    answers in RETRY_STATUSES after their Retry-After when they give one."""
    if isinstance(error, httpx2.TransportError):
        return True
    if isinstance(error, _AskAgain):
        after = retry_after_seconds(error.response)
        if after is None:
            return True
        if after > MAX_RETRY_AFTER_SECONDS:
            return False
        return float(after)  # a float (even 0.0) is a custom backoff, not a yes/no
    return False


def new_idempotency_key() -> str:
    return f"pls-{uuid.uuid4()}"


class PlsApi:
    """A worker's session with the console. Use as a context manager, or call ``close()``."""

    def __init__(self, config: Config, *, transport: httpx2.BaseTransport | None = None) -> None:
        self.config = config.require_server()
        self.client = httpx2.Client(
            base_url=f"{self.config.url}/api/v1/",
            headers={
                "Authorization": f"Bearer {self.config.token}",
                "User-Agent": f"pls-client/{__version__}",
            },
            timeout=httpx2.Timeout(
                self.config.timeout_seconds, connect=min(self.config.timeout_seconds, 5.0)
            ),
            transport=transport,
        )

    def __enter__(self) -> "PlsApi":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    # The wire ------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        accept: str = "application/json",
    ) -> httpx2.Response:
        """One call, retried on no answer and on RETRY_STATUSES. A write (anything but GET)
        carries ``idempotency_key`` (a new one when not given) on every attempt. Returns a
        2xx answer; raises ``ServerUnavailable`` or ``ProblemAnswer`` otherwise."""
        headers = {"Accept": accept}
        if method != "GET":
            headers["Idempotency-Key"] = idempotency_key or new_idempotency_key()
        try:
            for attempt in stamina.retry_context(
                on=_backoff,
                attempts=max(1, self.config.retry_attempts),
                timeout=self.config.retry_seconds or None,
                wait_initial=0.2,
                wait_max=5.0,
                wait_jitter=0.3,
            ):
                with attempt:
                    response = self.client.request(
                        method, path, json=body, params=params, headers=headers
                    )
                    if response.status_code in RETRY_STATUSES:
                        raise _AskAgain(response)
        except _AskAgain as last:
            raise _problem(last.response) from None
        except httpx2.TransportError as error:
            raise ServerUnavailable(self.config.url, _describe(error)) from None
        if response.status_code >= 400:
            raise _problem(response)
        return response

    def get(self, path: str, **params: Any) -> Any:
        return _json(self.request("GET", path, params=params or None))

    def post(self, path: str, body: Any = None, *, idempotency_key: str | None = None) -> Any:
        """POST; the answer's JSON, or None for an empty answer (204)."""
        response = self.request("POST", path, body=body, idempotency_key=idempotency_key)
        return None if response.status_code == 204 or not response.content else _json(response)

    def text(self, path: str, *, accept: str) -> str:
        return self.request("GET", path, accept=accept).text


def _json(response: httpx2.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise PlsError(
            _(
                "{url} answered {status} with something that is not JSON; is PLS_URL the console?"
            ).format(url=response.request.url, status=response.status_code)
        ) from None


def _problem(response: httpx2.Response) -> ProblemAnswer:
    try:
        document = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        document = None
    if not isinstance(document, dict):
        document = {"title": response.reason_phrase or "", "detail": response.text[:500]}
    return ProblemAnswer(response.status_code, document)


def _describe(error: httpx2.TransportError) -> str:
    if isinstance(error, httpx2.TimeoutException):
        return _("timed out ({kind})").format(kind=type(error).__name__)
    return str(error) or type(error).__name__
