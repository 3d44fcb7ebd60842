# syntax=docker/dockerfile:1
# One image for every process of the stack: gunicorn (the default CMD), the Celery worker,
# Celery beat and the one-shot migration; docker-compose.yml picks the command per service.

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: install the runtime dependencies into /opt/venv -----------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies first, so a code change does not reinstall them: the runtime lock (made by
# `make lock`), exact versions with every file's sha256, so every build installs the same files.
COPY requirements/runtime.txt ./requirements/runtime.txt
RUN pip install --require-hashes -r requirements/runtime.txt \
    && pip check

# --- runtime ---------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# PYTHONPATH=/app: every process (manage.py, gunicorn, celery) imports the source tree copied
# below, so BASE_DIR (templates, static) is /app; the build stage installs only dependencies.
# PROMETHEUS_MULTIPROC_DIR is for the default command (gunicorn, which empties it at start).
# Celery workers count their share of the metrics in the database (core.metrics), which the
# web's /metrics reads; nothing reads the files they may leave in their own container.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    PLS_VAR_DIR=/app/var \
    PORT=8000 \
    LOG_FORMAT=json \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus

# pg_dump and pg_restore for `manage.py backup` / `restore` (the backup CronJob runs this
# image): Debian's client, which must be at least as new as the server it dumps.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

# A real, writable home: gunicorn puts its control socket in ~/.gunicorn by default.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app \
        --shell /usr/sbin/nologin app

COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Code stays owned by root (read-only to the app user); only var/ and the metrics dir are its.
COPY manage.py ./
COPY config ./config
COPY repairs ./repairs
COPY policies ./policies
COPY artifacts ./artifacts
COPY learning ./learning
COPY notifications ./notifications
COPY dashboards ./dashboards
COPY core ./core
COPY console ./console
RUN python -m compileall -q /app \
    && mkdir -p /app/var /tmp/prometheus \
    && chown app:app /app/var /tmp/prometheus

USER app
# Static files are collected into the image (STATIC_ROOT=/app/var/static, served by
# WhiteNoise). production.py refuses the embedded key, so this step gets a random key that
# exists only for this one command: it is neither an ENV nor an ARG and is not in the image.
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
        python manage.py collectstatic --noinput \
    && rm -rf /app/var/celery /app/var/cache /app/var/pls.sqlite3*

EXPOSE 8000
CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi:application"]
