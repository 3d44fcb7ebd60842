"""Operations endpoints: liveness, readiness and the way in for a browser."""

from pathlib import Path

import redis
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache

from core.problems import PROBLEM_CONTENT_TYPE, problem
from core.scheduler import scheduler_tick_age
from notifications import selectors as outbox

CHECK_TIMEOUT_SECONDS = 2


def root_redirect(request: HttpRequest) -> HttpResponse:
    return redirect("admin:index")


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches no database, broker or cache."""
    return JsonResponse({"status": "ok"})


def check_database() -> str | None:
    """Returns why the database is unusable, or None when a query goes through."""
    for alias in connections:
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as exc:  # any driver error means "not ready"
            connections[alias].close_if_unusable_or_obsolete()
            return f"{alias}: {type(exc).__name__}: {exc}".strip()
    return None


def check_broker() -> str | None:
    """Returns why the Celery broker is unusable, or None when it answers."""
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        try:
            client = redis.Redis.from_url(
                url,
                socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
                socket_timeout=CHECK_TIMEOUT_SECONDS,
            )
            client.ping()
        except redis.RedisError as exc:
            return f"{type(exc).__name__}: {exc}"
        return None
    if url.startswith("filesystem://"):
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_out"])
        if not folder.is_dir():
            return f"queue folder {folder} does not exist (has a worker started?)"
        return None
    return None  # memory:// in tests, or a transport this check does not know


def outbox_checks(*, database_ok: bool) -> dict[str, float | int | None]:
    """The oldest pending owner report's age and how many reports have no channel yet."""
    if not database_ok:
        return {"outbox_oldest_pending_seconds": None, "outbox_unrouted": None}
    try:
        return {
            "outbox_oldest_pending_seconds": outbox.oldest_pending_age(),
            "outbox_unrouted": outbox.unrouted_count(),
        }
    except Exception:  # informational only: never turns a ready process unready
        return {"outbox_oldest_pending_seconds": None, "outbox_unrouted": None}


@never_cache
def ready(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when the database answers, 503 naming it when it does not.

    The database is all a web request needs: an event, its owner report and its outbox row
    commit together there, and the broker publish after the commit fails fast and is
    recovered by the sweep (the cache fails open too). So the broker is reported here
    (``checks.broker``, and ``pls_broker_up`` on /metrics) but never takes a pod out of
    the Service: while Redis is down the web keeps taking reports, which reach their
    channels once it is back."""
    database = check_database()
    checks = {
        "database": database or "ok",
        # Informational, as the rest: what is not ready elsewhere, for an operator to see.
        "broker": check_broker() or "ok",
        # A stopped beat does not make this web process unready, but an operator alerting
        # on it learns that scheduled work has stopped.
        "scheduler_last_tick_seconds_ago": scheduler_tick_age(),
        # Reports waiting long mean a channel or the drain is stuck (details per channel on
        # /metrics and in the console).
        **outbox_checks(database_ok=database is None),
    }
    if database is not None:
        body = problem(
            503,
            gettext("Service Unavailable"),
            gettext("Not ready: %(failures)s unavailable.") % {"failures": "database"},
            "not-ready",
            checks=checks,
        )
        return JsonResponse(body, status=503, content_type=PROBLEM_CONTENT_TYPE)
    return JsonResponse({"status": "ready", "checks": checks})
