"""The one way this project makes outbound HTTP requests.

Notification channels, signed self-heal callbacks and artifact checks all go through here,
so timeouts, the User-Agent, keep-alive and request signing are decided once, and tests
point one place at a local server.

Never call this inside a database transaction: a slow peer would hold row locks for as long
as it takes to answer.
"""

import hashlib
import hmac
import json
import os
import threading
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import InvalidIPAddress
from requests_hardened.ip_filter_adapter import IPFilterAdapter

from core.webhooks import signed_headers

# Raised when a worker-chosen URL resolves to an address the guard refuses.
BlockedAddress = InvalidIPAddress

USER_AGENT = "pls-ops-console/1 (+https://pls-ops-console.dev)"
SIGNATURE_HEADER = "X-PLS-Signature"

Timeout = float | tuple[float, float]

_local = threading.local()


def _reset_after_fork() -> None:
    # A Session created before a fork (Celery's prefork pool, gunicorn's preload) would share
    # its keep-alive sockets with the parent; each process and thread makes its own.
    global _local
    _local = threading.local()


os.register_at_fork(after_in_child=_reset_after_fork)


def session() -> requests.Session:
    """This thread's Session: its connection pool keeps connections to each host alive."""
    current = getattr(_local, "session", None)
    if current is None:
        current = requests.Session()
        current.headers["User-Agent"] = USER_AGENT
        _local.session = current
    return current


class _AllowListFilterAdapter(IPFilterAdapter):
    """requests-hardened's IP filter, except for the hosts an operator named.

    The filter runs when a connection is chosen for a request, so it sees every request the
    session sends, each redirect hop included: a named host that redirects elsewhere does
    not take its exemption along. A named host connects as it resolves; every other host is
    resolved once, refused if the address is not public, and connected to at that address
    (pinned), so a DNS answer that changes between check and connect cannot slip through.
    """

    def __init__(self, *, is_https_proto: bool, allowed_hosts: frozenset[str]) -> None:
        super().__init__(is_https_proto=is_https_proto, allow_loopback=False)
        self._allowed_hosts = allowed_hosts

    def build_connection_pool_key_attributes(self, request, verify, cert=None):  # type: ignore[no-untyped-def]
        if (urlsplit(request.url).hostname or "") in self._allowed_hosts:
            return HTTPAdapter.build_connection_pool_key_attributes(self, request, verify, cert)
        return super().build_connection_pool_key_attributes(request, verify, cert)


def guarded_session(allowed_hosts: Iterable[str] = ()) -> requests.Session:
    """This thread's Session for URLs a worker chose: it refuses, at connect time and for
    the address actually connected to, loopback, private, link-local (cloud metadata),
    multicast and reserved addresses, IPv4-mapped IPv6 included (requests-hardened), unless
    the URL's host is one of ``allowed_hosts`` (compared with the URL's lower-cased host
    name, as written: a name, not the address it resolves to). It never follows a redirect
    by itself: a caller that follows one sends the next hop through this session again."""
    allowed = frozenset(host.lower() for host in allowed_hosts)
    sessions = getattr(_local, "guarded", None)
    if sessions is None:
        sessions = _local.guarded = {}
    current = sessions.get(allowed)
    if current is None:
        current = HTTPSession(
            Config(
                ip_filter_enable=True,
                ip_filter_allow_loopback_ips=False,
                never_redirect=True,
                default_timeout=default_timeout(),
                user_agent_override=USER_AGENT,
            )
        )
        for scheme in ("http://", "https://"):
            current.mount(
                scheme,
                _AllowListFilterAdapter(is_https_proto=scheme == "https://", allowed_hosts=allowed),
            )
        sessions[allowed] = current
    return current


def _session_for(url: str, *, guarded: bool) -> requests.Session:
    if guarded:
        return guarded_session(settings.PLS_OUTBOUND_ALLOWED_HOSTS)
    return session()


def default_timeout() -> tuple[float, float]:
    """(connect, read) seconds: a peer that does not answer costs at most this per read."""
    return (settings.PLS_HTTP_CONNECT_TIMEOUT, settings.PLS_HTTP_READ_TIMEOUT)


def sign(body: bytes, key: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of body>``, the value of ``X-PLS-Signature``: the legacy,
    GitHub-style signature (no timestamp, so a captured delivery can be replayed), sent
    only to channels that opted in. Standard Webhooks signatures replace it."""
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def encode_json(payload: Any) -> bytes:
    """The bytes a JSON payload is sent as (compact, UTF-8), so a signature covers them."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def post_json(
    url: str,
    payload: Any,
    *,
    signing_key: bytes | None = None,
    webhook_id: str = "",
    webhook_secrets: Sequence[str] = (),
    headers: dict[str, str] | None = None,
    timeout: Timeout | None = None,
    guarded: bool = False,
) -> requests.Response:
    """POSTs ``payload`` as JSON. With ``webhook_id``, adds the Standard Webhooks headers,
    signing the exact bytes sent with each of ``webhook_secrets`` (none: unsigned); with
    ``signing_key``, the legacy ``X-PLS-Signature`` too.

    Redirects are not followed: a webhook that moved is a configuration to fix, and
    following one would send a signed body, or a credential in a header, somewhere else.
    Raises ``requests.RequestException`` for timeouts and connection errors; HTTP error
    statuses are returned for the caller to judge. ``guarded``: the URL came from a worker,
    so it goes through ``guarded_session`` unless its host is in
    ``PLS_OUTBOUND_ALLOWED_HOSTS`` (raises ``BlockedAddress`` when refused).
    """
    body = encode_json(payload)
    sent_headers = {"Content-Type": "application/json"}
    if webhook_id:
        signed = signed_headers(webhook_secrets, msg_id=webhook_id, body=body)
        if not webhook_secrets:
            del signed["webhook-signature"]
        sent_headers.update(signed)
    if signing_key is not None:
        sent_headers[SIGNATURE_HEADER] = sign(body, signing_key)
    sent_headers.update(headers or {})
    return _session_for(url, guarded=guarded).post(
        url,
        data=body,
        headers=sent_headers,
        timeout=timeout if timeout is not None else default_timeout(),
        allow_redirects=False,
    )
