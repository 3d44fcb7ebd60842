"""Gunicorn settings for the web process, every one overridable from the environment.

    gunicorn -c config/gunicorn.conf.py

Sized for a 2-core machine. ``python bench/ingest.py`` measures the ingest path with these
settings; change the defaults only with its figures in hand.
"""

import os
import shutil
from pathlib import Path


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


wsgi_app = "config.wsgi:application"
# All interfaces: in a container the runtime decides what is published, and the platform's
# load balancer reaches the process on $PORT.
bind = [f"{os.environ.get('GUNICORN_HOST', '0.0.0.0')}:{_int('PORT', 8000)}"]  # noqa: S104

# Two processes, one per core, each with four threads to overlap database round trips.
# Measured with bench/ingest.py (16 clients, PostgreSQL on the same 2 cores): sync with 2, 3,
# 4 and 6 workers and gthread with 2x2, 2x4, 2x8, 3x2, 3x4 and 4x2 all landed within noise of
# each other (109-138 events/s before the ingest fixes), so the smallest memory footprint
# that keeps both cores busy wins.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
workers = _int("GUNICORN_WORKERS", 2)
threads = _int("GUNICORN_THREADS", 4)

timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Workers report over persistent connections; a few seconds of keep-alive saves a TCP
# handshake per event without holding idle sockets for long.
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycling is off unless asked for: nothing here is known to leak, and each restart costs
# a cold worker (imports, URL resolver, database connection).
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 0)

# At several hundred events a second an access log line per request is a measurable share of
# the CPU and mostly repeats what the Prometheus request metrics already count.
accesslog = (
    "-" if os.environ.get("GUNICORN_ACCESS_LOG", "").lower() in {"1", "true", "yes"} else None
)
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")


# Prometheus multi-process mode: each worker writes its samples to files in this folder and
# /metrics sums them. The folder must start empty (files from an earlier run would be counted
# again), and a dead worker's live gauges must be dropped.
PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def on_starting(server) -> None:  # type: ignore[no-untyped-def]
    if not PROMETHEUS_MULTIPROC_DIR:
        return
    folder = Path(PROMETHEUS_MULTIPROC_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    # The contents, not the folder: it is often a mounted tmpfs the process cannot recreate.
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def child_exit(server, worker) -> None:  # type: ignore[no-untyped-def]
    if not PROMETHEUS_MULTIPROC_DIR:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
