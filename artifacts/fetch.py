"""Fetching the URLs of an artifact check, and the evidence each fetch leaves.

Workers choose these URLs and the server fetches them, so every request goes through
``core.http.guarded_session``: an address that is not public is refused at connect time
(and the address checked is the one connected to), unless the URL's host is on
``ARTIFACT_ALLOWED_HOSTS``. Redirects are followed here, hop by hop, up to
``ARTIFACT_MAX_REDIRECTS``: each hop's scheme is checked and its request goes through the
guarded session again, so a public URL that redirects to a private address is refused at
that hop, and the evidence says which hop it was.

No database access in this module: it runs in a check's thread pool, outside any
transaction.
"""

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from django.conf import settings

from core.http import BlockedAddress, guarded_session

SCHEMES = ("http", "https")
PRIMARY, UPLOAD = "primary", "upload"
# A read returns what has arrived, up to this much: the deadline is checked between reads,
# so a peer that sends a byte at a time cannot keep a fetch going past it.
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Target:
    url: str
    role: str  # PRIMARY or UPLOAD
    sha256: str | None = None  # lower-case hex; the body must hash to it


@dataclass(frozen=True)
class Limits:
    """How far one fetch may go; read from the settings when a check starts."""

    connect_timeout: float
    read_timeout: float
    deadline_seconds: float
    max_bytes: int
    hash_max_bytes: int
    max_redirects: int
    allowed_hosts: tuple[str, ...]

    @classmethod
    def from_settings(cls) -> "Limits":
        return cls(
            connect_timeout=settings.ARTIFACT_CONNECT_TIMEOUT,
            read_timeout=settings.ARTIFACT_READ_TIMEOUT,
            deadline_seconds=settings.ARTIFACT_FETCH_DEADLINE_SECONDS,
            max_bytes=settings.ARTIFACT_MAX_BYTES,
            hash_max_bytes=settings.ARTIFACT_HASH_MAX_BYTES,
            max_redirects=settings.ARTIFACT_MAX_REDIRECTS,
            allowed_hosts=tuple(settings.ARTIFACT_ALLOWED_HOSTS),
        )


@dataclass
class Evidence:
    """What one URL's fetch showed; stored as one entry of the check's ``results``."""

    url: str
    role: str
    status_code: int | None = None
    final_url: str = ""
    latency_ms: int | None = None  # until the last hop's response headers arrived
    duration_ms: int = 0  # the whole fetch, body included
    content_type: str = ""
    bytes_read: int = 0
    truncated: bool = False  # the byte cap stopped the read before the body's end
    sha256: str | None = None  # of the whole body; None when it was not read to the end
    expected_sha256: str | None = None
    redirects: list[str] = field(default_factory=list)
    passed: bool = False
    error: str = ""  # why it failed, as the end of "the primary URL <url> …"
    error_class: str = ""  # the same as a slug, for the artifact_guard event

    def as_dict(self) -> dict:
        return asdict(self)

    def fail(self, error_class: str, error: str) -> "Evidence":
        self.passed, self.error_class, self.error = False, error_class, error
        return self


def scheme_refusal(url: str) -> str | None:
    """Why ``url`` is not fetched at all (not http or https, or no host), or None."""
    parts = urlsplit(url)
    if not parts.scheme:
        return "the URL has no scheme; only http and https URLs are checked"
    if parts.scheme.lower() not in SCHEMES:
        return f"only http and https URLs are checked, not {parts.scheme} URLs"
    if not parts.hostname:
        return "the URL has no host"
    return None


def fetch_all(targets: list[Target], *, limits: Limits, threads: int) -> list[Evidence]:
    """Fetches every target concurrently, at most ``threads`` at a time; the evidence comes
    back in the targets' order. An unexpected exception in any fetch propagates."""
    if not targets:
        return []
    with ThreadPoolExecutor(
        max_workers=max(1, min(threads, len(targets))), thread_name_prefix="artifact-fetch"
    ) as pool:
        return list(pool.map(lambda target: fetch_one(target, limits=limits), targets))


def fetch_one(target: Target, *, limits: Limits) -> Evidence:
    """Fetches one URL, following redirects hop by hop, and judges it.

    Network trouble (refused address, timeout, connection error, bad redirect) is a failed
    fetch with its reason; anything else is a bug and propagates.
    """
    evidence = Evidence(url=target.url, role=target.role, expected_sha256=target.sha256)
    started = time.monotonic()
    try:
        return _fetch(target, evidence, limits, started)
    except BlockedAddress as exc:
        host = urlsplit(evidence.final_url or target.url).hostname
        where = f"its redirect to {host}" if evidence.redirects else host
        resolved = "" if host == str(exc) else f" resolves to {exc}, which"
        return evidence.fail(
            "artifact_blocked_address",
            f"was refused: {where}{resolved} is not a public address (loopback, private, "
            "link-local, multicast or reserved)",
        )
    except (requests.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError):
        return evidence.fail(
            "artifact_timeout", f"did not connect within {limits.connect_timeout:g} s"
        )
    except (requests.ReadTimeout, urllib3.exceptions.ReadTimeoutError):
        return evidence.fail("artifact_timeout", _no_answer(limits))
    except requests.ConnectionError as exc:
        if _is_read_timeout(exc):
            return evidence.fail("artifact_timeout", _no_answer(limits))
        return evidence.fail("artifact_unreachable", f"could not be reached: {_short(exc)}")
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        return evidence.fail(
            "artifact_unreachable", f"could not be fetched: {type(exc).__name__}: {_short(exc)}"
        )
    finally:
        evidence.duration_ms = round((time.monotonic() - started) * 1000)


def _fetch(target: Target, evidence: Evidence, limits: Limits, started: float) -> Evidence:
    session = guarded_session(limits.allowed_hosts)
    url = target.url
    while True:
        evidence.final_url = url
        refusal = scheme_refusal(url)
        if refusal is not None:
            return evidence.fail(
                "artifact_redirect_refused", f"redirected to {url}, which is refused: {refusal}"
            )
        if time.monotonic() > started + limits.deadline_seconds:
            return evidence.fail(
                "artifact_timeout",
                f"took longer than {limits.deadline_seconds:g} s to follow its redirects",
            )
        response = session.get(
            url,
            stream=True,
            allow_redirects=False,
            timeout=(limits.connect_timeout, limits.read_timeout),
            # The bytes as stored, so a sha256 is of the file and the cap counts file bytes.
            headers={"Accept-Encoding": "identity"},
        )
        with response:
            evidence.latency_ms = round((time.monotonic() - started) * 1000)
            evidence.status_code = response.status_code
            evidence.content_type = response.headers.get("Content-Type", "")[:200]
            location = response.headers.get("Location")
            if response.is_redirect and location:
                if len(evidence.redirects) >= limits.max_redirects:
                    return evidence.fail(
                        "artifact_redirect_refused",
                        f"redirected more than {limits.max_redirects} times",
                    )
                url = urljoin(url, location)
                evidence.redirects.append(url)
                continue
            return _read_body(response, target, evidence, limits, started)


def _read_body(
    response: requests.Response,
    target: Target,
    evidence: Evidence,
    limits: Limits,
    started: float,
) -> Evidence:
    # Only a hash needs the whole body; without one, the first max_bytes show the URL opens.
    cap = limits.hash_max_bytes if target.sha256 else limits.max_bytes
    digest = hashlib.sha256()
    deadline = started + limits.deadline_seconds
    if response.status_code == 200:
        declared = response.headers.get("Content-Length", "")
        if target.sha256 and declared.isdigit() and int(declared) > cap:
            return evidence.fail(
                "artifact_too_large",
                f"is too large to hash: {declared} bytes declared, the limit is {cap} bytes",
            )
        raw = response.raw
        while True:
            chunk = raw.read1(_CHUNK) if hasattr(raw, "read1") else raw.read(_CHUNK)
            if not chunk:
                break
            room = cap - evidence.bytes_read
            if len(chunk) > room:
                chunk, evidence.truncated = chunk[:room], True
            digest.update(chunk)
            evidence.bytes_read += len(chunk)
            if evidence.truncated:
                break
            if time.monotonic() > deadline:
                return evidence.fail(
                    "artifact_timeout",
                    f"took longer than {limits.deadline_seconds:g} s to download",
                )
        if not evidence.truncated:
            evidence.sha256 = digest.hexdigest()
    return _judge(target, evidence, cap)


def _judge(target: Target, evidence: Evidence, cap: int) -> Evidence:
    code = evidence.status_code
    if code != 200:
        return evidence.fail(f"artifact_http_{code}", f"answered HTTP {code}, not 200")
    if target.sha256:
        if evidence.truncated:
            return evidence.fail(
                "artifact_too_large", f"is too large to hash: more than {cap} bytes"
            )
        if evidence.sha256 != target.sha256:
            return evidence.fail(
                "artifact_hash_mismatch",
                f"has sha256 {evidence.sha256}, not the expected {target.sha256}",
            )
    evidence.passed = True
    return evidence


def _no_answer(limits: Limits) -> str:
    return f"did not answer within the read timeout of {limits.read_timeout:g} s"


def _is_read_timeout(exc: BaseException) -> bool:
    # requests wraps a timeout that happens while the body streams in a ConnectionError.
    seen: BaseException | None = exc
    for _depth in range(5):
        if seen is None:
            break
        if isinstance(seen, urllib3.exceptions.ReadTimeoutError):
            return True
        args = getattr(seen, "args", ())
        inner = args[0] if args and isinstance(args[0], BaseException) else None
        seen = inner or seen.__cause__ or seen.__context__
    return False


def _short(exc: BaseException, limit: int = 300) -> str:
    return str(exc).replace("\n", " ")[:limit]
