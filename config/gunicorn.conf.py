"""Gunicorn settings for the web process, every one overridable from the environment.

    gunicorn -c config/gunicorn.conf.py

Sized for a 2-core machine. ``python bench/ingest.py`` measures the ingest path with these
settings; change the defaults only with its figures in hand.
"""

import os
import shutil
import tempfile
from pathlib import Path


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


wsgi_app = "config.wsgi:application"
# All interfaces: in a container the runtime decides what is published, and the platform's
# load balancer reaches the process on $PORT.
bind = [f"{os.environ.get('GUNICORN_HOST', '0.0.0.0')}:{_int('PORT', 8000)}"]  # noqa: S104

# gthread, 2 processes (one per core) x 4 threads each, for a 2-core machine.
# - Processes: one per core. Django's request path is Python holding the GIL (about 4 ms of
#   CPU per ingest request against 1 ms for the bare insert), so one process uses at most one
#   core; a third process only adds memory (~90 MiB each, bench/rss.py) and fights
#   PostgreSQL, which needs a share of the same two cores.
# - Threads: a request also waits on the database (about 8 round trips per ingest request,
#   its locks, the commit's WAL flush); a few threads per process fill those waits with
#   other requests. More threads only contend for the GIL.
# bench/ingest.py on the 2-core machine (16 workers reporting at once, PostgreSQL and the
# load generator on the same cores, 2 interleaved runs each, 2026-11-21): gthread 2x4
# 293-309 events/s (p99 110-120 ms), 2x2 316-336 (p99 88-104), 2x8 298-304 (p99 136-154),
# 3x4 314-324 (p99 104-116), sync x4 283-307 (p99 69-71). All within the run-to-run noise
# (about +-10 %), as was gunicorn's CPU per event (3.7-4.1 ms; sync 4.4-4.8). 2x4 is kept
# over 2x2 because PostgreSQL in production sits across a network, where each round trip
# is longer and more threads are needed to keep a core busy; sync keeps the tightest p99 at
# saturation but closes every connection after a request and gives a slow client a whole
# process, with nothing in the compose stack buffering requests in front of gunicorn.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
workers = _int("GUNICORN_WORKERS", 2)
threads = _int("GUNICORN_THREADS", 4)

timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Workers report over persistent connections; a few seconds of keep-alive saves a TCP
# handshake per event without holding idle sockets for long.
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycling is off unless asked for: a worker's memory levels off (bench/rss.py: 93 MiB after
# warm-up, 95 MiB peak after 100,000 mixed requests, +0.5 MiB over the second 50,000), and
# each restart costs a cold worker (imports, URL resolver, database connection).
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 0)
# Workers touch a heartbeat file on every request; in a container /tmp may be a disk-backed
# overlay, where that write can stall a worker. /dev/shm is memory. (gunicorn creates the file
# with mkstemp and unlinks it at once, so a shared folder is safe here.)
_SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", _SHM if os.path.isdir(_SHM) else None)

# Header limits, answered by gunicorn itself (a problem document from post_worker_init's
# handler below, then the connection closes) before the app sees the request, so they are set
# above anything the API reads: a header field of up to 16 KiB reaches Django, which answers
# a header it refuses (an over-long Idempotency-Key) with a problem document naming it. The
# request line (method, path and query) stays at gunicorn's 4094 bytes (414 beyond), at most
# 100 header fields (431 beyond).
limit_request_line = _int("GUNICORN_LIMIT_REQUEST_LINE", 4094)
limit_request_fields = _int("GUNICORN_LIMIT_REQUEST_FIELDS", 100)
limit_request_field_size = _int("GUNICORN_LIMIT_REQUEST_FIELD_SIZE", 16 * 1024)

# At several hundred events a second an access log line per request is a measurable share of
# the CPU and mostly repeats what the Prometheus request metrics already count.
accesslog = (
    "-" if os.environ.get("GUNICORN_ACCESS_LOG", "").lower() in {"1", "true", "yes"} else None
)
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")


# Prometheus multi-process mode, always: each worker writes its samples to files in this
# folder and /metrics sums them. Without it each worker would answer with its own counts and
# a scrape would see a counter jump between them (Prometheus reads every drop as a reset).
# The folder must start empty (files from an earlier run would be counted again), and a dead
# worker's files are marked so. Without PROMETHEUS_MULTIPROC_DIR a fresh temporary folder is
# made per start and removed at exit. (Celery's processes never write here: core.metrics.)
PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
_made_folder: list[str] = []


def on_starting(server) -> None:  # type: ignore[no-untyped-def]
    if PROMETHEUS_MULTIPROC_DIR:
        folder = Path(PROMETHEUS_MULTIPROC_DIR)
    else:
        folder = Path(tempfile.mkdtemp(prefix="pls-prometheus-"))
        _made_folder.append(str(folder))
    # Before any worker is forked: each inherits it and imports prometheus_client after.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # The contents, not the folder: it is often a mounted tmpfs the process cannot recreate.
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def on_exit(server) -> None:  # type: ignore[no-untyped-def]
    for folder in _made_folder:
        shutil.rmtree(folder, ignore_errors=True)


def child_exit(server, worker) -> None:  # type: ignore[no-untyped-def]
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker) -> None:  # type: ignore[no-untyped-def]
    """gunicorn refuses an over-long request line (414) and too many or too large header
    fields (431) itself, before the app sees the request, and answered them with an HTML
    page. Every other error is an RFC 9457 problem document, so these are made one too, in
    the console's language (no header was read to choose another). Whatever else gunicorn
    refuses (malformed HTTP: 400) is still its own page. A hook on the worker rather than a
    worker class: GUNICORN_WORKER_CLASS keeps naming any class, and sync with threads still
    becomes gthread, as gunicorn decides."""
    import json

    from django.utils.translation import gettext as _
    from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
    from gunicorn.util import write_nonblock

    from core.audience import speaking_to
    from core.problems import PROBLEM_CONTENT_TYPE, problem

    as_html = worker.handle_error
    cfg = worker.cfg

    def handle_error(req, client, addr, exc) -> None:  # type: ignore[no-untyped-def]
        # The thread's language may be the last request's; these answers take the console's.
        with speaking_to():
            if isinstance(exc, LimitRequestLine):
                status, reason, slug = 414, "URI Too Long", "request-line-too-long"
                title = _("Request line too long")
                detail = _(
                    "The request line (method, path and query) is longer than %(limit)s bytes."
                ) % {"limit": cfg.limit_request_line}
            elif isinstance(exc, LimitRequestHeaders):
                status, reason = 431, "Request Header Fields Too Large"
                slug = "request-header-fields-too-large"
                title = _("Request header fields too large")
                detail = _(
                    "The request has more than %(fields)s header fields, or one longer than "
                    "%(size)s bytes."
                ) % {"fields": cfg.limit_request_fields, "size": cfg.limit_request_field_size}
            else:
                as_html(req, client, addr, exc)
                return
        worker.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        body = json.dumps(problem(status, title, detail, slug), ensure_ascii=False).encode()
        head = (
            f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: {PROBLEM_CONTENT_TYPE}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        try:
            write_nonblock(client, head.encode("latin-1") + body)
        except Exception:  # the client went away: nothing to answer
            worker.log.debug("Failed to send error message.")

    worker.handle_error = handle_error


def pre_request(worker, req) -> None:  # type: ignore[no-untyped-def]
    """A request whose body the app may leave partly unread closes its connection after the
    answer, and the answer says so (``Connection: close``): a body longer than the app drains
    (PLS_MAX_DRAIN_BYTES, see core.middleware.RequestBodyFraming), and a chunked body,
    whose length is unknown until it is read. Otherwise gunicorn would announce keep-alive,
    drain at most 64 KiB of what is left and close anyway, and the client's next request on
    the connection would fail."""
    worker.log.debug("%s %s", req.method, req.path)
    from django.conf import settings  # the worker has loaded the app, and so its settings

    for name, value in req.headers:
        if name == "TRANSFER-ENCODING" and "chunked" in value.lower():
            req.must_close = True
        elif name == "CONTENT-LENGTH" and value.isdigit():
            req.must_close = req.must_close or int(value) > settings.PLS_MAX_DRAIN_BYTES
