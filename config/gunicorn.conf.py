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

# gthread, 2 processes (one per core) x 4 threads. bench/ingest.py on the 2-core machine
# (16 keep-alive clients; PostgreSQL and the load generator on the same cores), 4 interleaved
# runs each: sync x2 158-230 events/s, sync x5 194-202, gthread 2x2 170-230, gthread 2x4
# 173-193. The ingest path is CPU-bound (about 7 ms of Python per event), so the worker class
# does not change throughput beyond the run-to-run noise; sync only had the tighter p99 at
# saturation (98-148 ms against 131-282 ms). gthread wins on what the bench cannot show:
# workers keep their connections alive (sync closes every one), a connection whose request
# has not arrived yet waits in the poller instead of holding one of a few processes (nothing
# in the compose stack buffers requests in front of gunicorn), and four threads overlap the
# database round trips when PostgreSQL is on another host. More threads per process only add
# GIL contention; more processes than cores only add memory.
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
# Workers touch a heartbeat file on every request; in a container /tmp may be a disk-backed
# overlay, where that write can stall a worker. /dev/shm is memory. (gunicorn creates the file
# with mkstemp and unlinks it at once, so a shared folder is safe here.)
_SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", _SHM if os.path.isdir(_SHM) else None)

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
