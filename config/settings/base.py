"""Settings shared by every environment, read from one django-environ ``env``.

With no environment at all this is the embedded default: SQLite and a filesystem
Celery broker under ``.var/``, so ``make run`` works on a machine with no services.
Set ``DATABASE_URL`` and ``REDIS_URL`` to run on PostgreSQL and Redis.
"""

from datetime import timedelta
from pathlib import Path

import environ
from babel.numbers import is_currency
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from core.clock import ClockSettingInvalid, hour_minute, weekday_hour_minute, zone_checked

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("PLS_VAR_DIR", default=str(BASE_DIR / ".var")))

env = environ.Env()
env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# The embedded default is for a developer's machine; production.py refuses to start without
# a real SECRET_KEY.
SECRET_KEY = env.str("SECRET_KEY", default="insecure-embedded-default-not-for-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Before the admin, so the console's templates (admin/index.html) win.
    "console.apps.ConsoleConfig",
    "console.apps.OpsConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "django_structlog",
    "axes",
    "policies",
    "repairs",
    "artifacts",
    "learning",
    "notifications",
    "dashboards",
    "core.apps.CoreConfig",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "core.middleware.RequestBodyLimitMiddleware",
    "core.middleware.ControlCharactersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Accept-Language (and the language cookie) for everyone; ProfileMiddleware below lets a
    # signed-in person's own choice win.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Each person's own language and time zone (core.models.Profile).
    "core.middleware.ProfileMiddleware",
    # Binds the request id (X-Request-ID, read or issued, and returned) for every log line.
    "core.logs.RequestIdMiddleware",
    # Which door a request came through (console or api), for the audit trail (core/audit.py).
    "core.audit.AuditChannelMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its lockout page (HTTP 429).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'pls.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Each process keeps a psycopg pool (Django's OPTIONS["pool"]): a request borrows a
    # connection and gives it back, with no health-check SELECT 1 before it. A connection
    # broken by a database restart fails its request with a 503 (core/problems.py) and the
    # pool drops it and opens another. Size it to the process's threads: gunicorn's
    # GUNICORN_THREADS per worker (max_size), and keep workers x max_size (plus Celery's
    # processes x max_size) under PostgreSQL's max_connections (README, Scaling).
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps the connections instead
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("PLS_DB_POOL_MIN_SIZE", default=2),
        "max_size": env.int("PLS_DB_POOL_MAX_SIZE", default=4),
        # A request waits this long for a connection, then answers 503: a database that is
        # down is reported promptly instead of holding the request.
        "timeout": env.float("PLS_DB_POOL_TIMEOUT", default=2.0),
    }
    # Ingest's hot statements run prepared (core.postgres.prepared_cursor): parsed and
    # planned once per connection. Django's own cursors bind on the client and never prepare,
    # whatever this says. Off (PLS_DB_PREPARED_STATEMENTS=false) for a pooler that cannot
    # keep prepared statements per client; those statements then run unprepared.
    if env.bool("PLS_DB_PREPARED_STATEMENTS", default=True):
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the Celery worker writes; the busy timeout makes
    # a writer wait for the lock instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# The console's language when neither the person's profile nor their browser says otherwise.
LANGUAGE_CODE = env.str("PLS_LANGUAGE", default="zh-hant")
LANGUAGES = [("zh-hant", "繁體中文"), ("en", "English")]
USE_I18N = True
# One catalogue for the whole console (README, "Languages"): `make messages` updates it.
LOCALE_PATHS = [BASE_DIR / "locale"]
# Stored times are UTC; the console's zone decides where its days, budget months and digest
# times fall, and is how times are shown to anyone who has not picked a zone of their own.
USE_TZ = True
try:
    TIME_ZONE = zone_checked(env.str("PLS_TIME_ZONE", default="Asia/Taipei"))
    # When beat sends the digests, on the console's clock: HH:MM, and a weekday plus HH:MM.
    PLS_DAILY_DIGEST_AT = hour_minute(
        env.str("PLS_DAILY_DIGEST_AT", default="09:10"), variable="PLS_DAILY_DIGEST_AT"
    )
    PLS_WEEKLY_REVIEW_AT = weekday_hour_minute(
        env.str("PLS_WEEKLY_REVIEW_AT", default="mon 09:20"), variable="PLS_WEEKLY_REVIEW_AT"
    )
except ClockSettingInvalid as error:
    raise ImproperlyConfigured(str(error)) from None

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LOGIN_URL = "admin:login"
# django-axes first: it refuses a locked-out username+address before any password is checked
# (the console login and HTTP Basic on the API alike); the model backend then authenticates.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "core.auth_backends.RoleCachingModelBackend",
]
# Seconds a process keeps a user's permission set; a role change applies within this time.
PLS_PERMISSION_CACHE_SECONDS = env.int("PLS_PERMISSION_CACHE_SECONDS", default=30)

# --- API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "repairs.authentication.WorkerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        # People calling the API from a script or curl (`curl -u reviewer:…`); workers have
        # no usable password, so this is never a way in for them. Use it over HTTPS only.
        "core.auth_backends.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's, with a nesting limit and no lone surrogates (PLS_MAX_JSON_DEPTH below).
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # drf-spectacular, plus the problem documents each operation may answer with.
    "DEFAULT_SCHEMA_CLASS": "core.openapi.ProblemAutoSchema",
    "EXCEPTION_HANDLER": "core.problems.problem_exception_handler",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )

SPECTACULAR_SETTINGS = {
    "TITLE": "PLS Ops Console API",
    "DESCRIPTION": (
        "Workers report repair events, claims, heartbeats and artifacts and get a verdict "
        "from the active policy. Authenticate with `Authorization: Bearer <worker token>`."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page's JavaScript is served from this app, not a CDN, so it works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.openapi.lift_blank_defaults",
    ],
    # One tag per area (core.openapi: PLS_API_AREAS below), in this order on the docs page.
    "TAGS": [
        {"name": "events", "description": "Repair events workers report, and their outcomes"},
        {"name": "jobs", "description": "Jobs: claims, heartbeats, release, reclaim, completion"},
        {"name": "self-heal", "description": "Self-heal requests waiting for a person's decision"},
        {"name": "policy", "description": "The worker policy, its versions, proposals, decisions"},
        {"name": "artifacts", "description": "Artifact gate checks"},
        {"name": "learning", "description": "Learning memory and the prompt pack"},
        {"name": "dashboards", "description": "The scorecard, the D7 acceptance, milestones"},
        {"name": "operations", "description": "A worker's own record and usage; the audit trail"},
    ],
}
# API path prefix -> the area tag its operations carry in the schema (longest prefix wins).
PLS_API_AREAS = {
    "/api/v1/worker-repair-events": "events",
    "/api/v1/jobs": "jobs",
    "/api/v1/self-heal-requests": "self-heal",
    "/api/v1/worker-policy": "policy",
    "/api/v1/policy-decisions": "policy",
    "/api/v1/proposals": "policy",
    # A tool verdict is the policy's answer on one tool call (POST /api/v1/tool-verdicts).
    "/api/v1/tool-verdicts": "policy",
    "/api/v1/artifact-gate-checks": "artifacts",
    "/api/v1/learning": "learning",
    "/api/v1/scorecard": "dashboards",
    "/api/v1/milestones": "dashboards",
    "/api/v1/workers": "operations",
    "/api/v1/audit-trail": "operations",
    # What people do with a report's buttons in chat, posted by Telegram, Slack, Discord, LINE.
    "/api/v1/channels": "self-heal",
}

# Largest request body the API accepts; larger ones are answered 413 before they are read.
PLS_MAX_REQUEST_BYTES = env.int("PLS_MAX_REQUEST_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = PLS_MAX_REQUEST_BYTES
# A body the app refuses or leaves unread (a 413, a 401 before parsing) is read and dropped
# up to this many bytes, so the client gets its answer and the connection stays usable;
# gunicorn closes the connection after the answer to a longer one (config/middleware.py).
PLS_MAX_DRAIN_BYTES = max(
    env.int("PLS_MAX_DRAIN_BYTES", default=16 * 1024 * 1024), PLS_MAX_REQUEST_BYTES
)
# JSON bodies nesting arrays and objects deeper than this are refused (400); config/parsers.py.
PLS_MAX_JSON_DEPTH = env.int("PLS_MAX_JSON_DEPTH", default=32)
# Evidence longer than this keeps its head and tail with a marker saying how much was cut.
PLS_EVIDENCE_MAX_BYTES = env.int("PLS_EVIDENCE_MAX_BYTES", default=64 * 1024)
# The repeat window itself is on the versioned worker policy (``repeat_window``).
# repeat_count sums the window in this many buckets (repairs.models.RepeatCounter): it may
# leave out reports from the window's oldest bucket, 1/60 of it by default.
PLS_REPEAT_BUCKETS = max(env.int("PLS_REPEAT_BUCKETS", default=60), 1)
# How long a process keeps the current worker policy before reading it again; a change made
# in the process is seen at once, other processes see it within this many seconds.
PLS_POLICY_CACHE_SECONDS = env.int("PLS_POLICY_CACHE_SECONDS", default=5)
# Targets no worker acts on whatever any policy version says: the policy may add patterns,
# never drop these (policies.ladder). Globs, matched against every form of a target.
PLS_PROTECTED_FLOOR = env.list(
    "PLS_PROTECTED_FLOOR", default=["*-db", "*postgres*", "*mysql*", "*redis*", "*mongo*"]
)
# Policy simulation replays at most this many of the newest actions in its window (and says
# when it left older ones out), so a what-if answers in seconds on a large fleet.
PLS_SIMULATION_MAX_EVENTS = env.int("PLS_SIMULATION_MAX_EVENTS", default=200_000)
# How stale a token's last-used time may get before a request writes it again.
PLS_TOKEN_TOUCH_INTERVAL = timedelta(seconds=env.int("PLS_TOKEN_TOUCH_SECONDS", default=60))

# --- Celery ----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # One folder serves as both ends of the queue; the web process, worker and beat share it.
    _queue_dir = str(VAR_DIR / "celery" / "queue")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": _queue_dir,
        "data_folder_out": _queue_dir,
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
    for _folder in (_queue_dir, CELERY_BROKER_TRANSPORT_OPTIONS["control_folder"]):
        Path(_folder).mkdir(parents=True, exist_ok=True)
else:
    # Longer than any task may run, so a task whose worker died is redelivered, never lost
    # while still running elsewhere.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
# Celery's own fixup would close the database connection after every task; config/celery.py
# gives it back to the pool before and after each task instead, as Django does around a request.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Beat reads crontab schedules on the console's clock (the digests).
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "scheduler-tick": {"task": "core.tasks.scheduler_tick", "schedule": 30.0},
    "self-heal-requests-sweep": {
        "task": "repairs.tasks.self_heal_requests_sweep",
        "schedule": 60.0,
    },
    # Reminders and escalations of unanswered self-heal requests (the policy's
    # approval_reminders): each goes out once per request, whenever beat runs.
    "self-heal-reminders-sweep": {
        "task": "repairs.tasks.self_heal_reminders_sweep",
        "schedule": 60.0,
    },
}
# An escalated self-heal request also goes to this role, and to this channel (by name) when
# one is set; blank routes the escalation by the role alone.
PLS_ESCALATION_ROLE = env.str("PLS_ESCALATION_ROLE", default="pls_owner")
PLS_ESCALATION_CHANNEL = env.str("PLS_ESCALATION_CHANNEL", default="")
# A retried write with the same Idempotency-Key is answered from its first answer for this
# long (core.idempotency); beat deletes older keys hourly.
PLS_IDEMPOTENCY_KEY_TTL = timedelta(hours=env.int("PLS_IDEMPOTENCY_KEY_TTL_HOURS", default=24))
CELERY_BEAT_SCHEDULE["idempotency-keys-purge"] = {
    "task": "core.tasks.idempotency_keys_purge_expired",
    "schedule": crontab(minute=5),
}
# Webhook and callback signing secrets are sealed at rest with these Fernet keys
# (comma-separated; the first seals, all open); unset, one is derived from SECRET_KEY.
PLS_SECRET_ENCRYPTION_KEYS = env.list("PLS_SECRET_ENCRYPTION_KEYS", default=[])
# A rotated signing secret keeps signing, beside the new one, for this long.
PLS_WEBHOOK_SECRET_OVERLAP = timedelta(
    hours=env.float("PLS_WEBHOOK_SECRET_OVERLAP_HOURS", default=24.0)
)
# manage.py backup: where dumps go, and how many of the newest it keeps (0: all).
PLS_BACKUP_DIR = Path(env.str("PLS_BACKUP_DIR", default=str(VAR_DIR / "backups")))
PLS_BACKUP_KEEP = env.int("PLS_BACKUP_KEEP", default=14)
# Enqueueing never holds a request for long: a broker that does not answer in this time is
# treated as down, and the beat sweeps pick the work up once it is back.
CELERY_BROKER_CONNECTION_TIMEOUT = 2

# --- Logging ---------------------------------------------------------------------------------
# One line per event, with the request id, the worker or user and the Celery task id bound
# (core/logs.py): "json" for a log pipeline (the container image), "text" to read.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("json", "text"):
    raise ValueError(f"LOG_FORMAT must be json or text, not {LOG_FORMAT!r}")
from core import logs  # noqa: E402 - the log format lives with the kernel

logs.configure()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "core.redaction.RedactingFilter"}},
    "formatters": {"structured": logs.formatter(LOG_FORMAT)},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "structured",
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # django-structlog's own task_enqueued / task_started lines would double Celery's.
    "loggers": {"django_structlog": {"level": "WARNING"}},
}
# Celery tasks log with their task id, and with the context (request id, worker or user) of
# the request that published them (django-structlog's worker step, config/celery.py).
DJANGO_STRUCTLOG_CELERY_ENABLED = True
# Celery's workers log through the handler above too (not a format of Celery's own), so a
# worker's lines are as structured as the web's; their level is LOG_LEVEL.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Optional error reporting: set SENTRY_DSN and the web and Celery processes report errors to
# Sentry, every string redacted first (core/sentry.py); unset, nothing is sent anywhere.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from core.sentry import sentry_start

    sentry_start(dsn=SENTRY_DSN, environment=env.str("SENTRY_ENVIRONMENT", default="production"))

# --- Owner notifications (notifications app, DESIGN §7) ----------------------------------------
# Reports wait in the outbox (table owner_reports) and Celery sends them per channel.
# A drain run sends at most this many reports per channel; the next run picks up the rest.
PLS_NOTIFY_MAX_COUNT = env.int("PLS_NOTIFY_MAX_COUNT", default=5)
# A report whose dedup key a channel took within this time is suppressed (counted, not sent).
PLS_NOTIFY_DEDUP_COOLDOWN = timedelta(
    seconds=env.int("PLS_NOTIFY_DEDUP_COOLDOWN_SECONDS", default=600)
)
# How often beat sweeps the outbox: routes unrouted reports and drains every channel with
# work, so a report whose drain task never reached the broker still goes out.
PLS_NOTIFY_SWEEP_SECONDS = env.float("PLS_NOTIFY_SWEEP_SECONDS", default=30.0)
# Asking Celery for work after a commit (config/broker.py: an outbox drain, a callback) tries
# the broker once with this timeout; after a failure it stops asking for this long (beat
# sweeps cover), so a broker outage never slows the requests that cause the work.
PLS_BROKER_PUBLISH_TIMEOUT_SECONDS = env.float("PLS_BROKER_PUBLISH_TIMEOUT_SECONDS", default=0.5)
PLS_BROKER_PAUSE_SECONDS = env.float("PLS_BROKER_PAUSE_SECONDS", default=10.0)
# A drain holds a channel's lease this long (renewed before every send). It must outlast one
# send with its HTTP timeouts; a drain that dies holding it delays the channel this long.
PLS_NOTIFY_LEASE_SECONDS = env.int("PLS_NOTIFY_LEASE_SECONDS", default=120)
# Backoff after a failed send: base x 2^(failures-1), capped; a longer Retry-After wins.
PLS_NOTIFY_BACKOFF_BASE_SECONDS = env.int("PLS_NOTIFY_BACKOFF_BASE_SECONDS", default=10)
PLS_NOTIFY_BACKOFF_MAX_SECONDS = env.int("PLS_NOTIFY_BACKOFF_MAX_SECONDS", default=3600)
# Provider API bases (a channel's own api_base wins); pointed at a local server in tests.
PLS_NOTIFY_TELEGRAM_API_BASE = env.str(
    "PLS_NOTIFY_TELEGRAM_API_BASE", default="https://api.telegram.org"
)
PLS_NOTIFY_LINE_API_BASE = env.str("PLS_NOTIFY_LINE_API_BASE", default="https://api.line.me")
# Fallback (a channel's fallback field): a report waiting this long on a failing channel goes to
# its fallback (a channel's own fallback_after wins; 0 = never by age), and so does one that
# failed this many attempts in a row. A permanent refusal or a quota pause hands over at once.
PLS_FALLBACK_AFTER_SECONDS = env.int("PLS_FALLBACK_AFTER_SECONDS", default=1800)
PLS_FALLBACK_AFTER_ATTEMPTS = env.int("PLS_FALLBACK_AFTER_ATTEMPTS", default=5)
# Grouping (after Alertmanager's group_wait): reports of one source and error class raised
# within this many seconds of the first go out as one message with a count and the first
# PLS_NOTIFY_GROUP_SHOWN of them (0 turns grouping off).
PLS_NOTIFY_GROUP_WAIT_SECONDS = env.float("PLS_NOTIFY_GROUP_WAIT_SECONDS", default=30.0)
PLS_NOTIFY_GROUP_SHOWN = env.int("PLS_NOTIFY_GROUP_SHOWN", default=5)
# The console's public address (scheme, host, any path prefix), which reports' deep links
# start with. Unset, reports show the console path alone.
PLS_PUBLIC_URL = env.str("PLS_PUBLIC_URL", default="").rstrip("/")
# Approving from chat: a Slack request or Discord interaction signed longer ago than this is
# refused as stale (Slack's own advice is five minutes).
PLS_CHAT_MAX_AGE_SECONDS = env.int("PLS_CHAT_MAX_AGE_SECONDS", default=300)
# Email channels send through Django's mail backend, configured by one URL, e.g.
# smtp+tls://user:password@smtp.example.com:587 (the default is Django's: SMTP on localhost).
vars().update(env.email_url("EMAIL_URL", default="smtp://localhost:25"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="pls-ops-console@localhost")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# urllib3 logs each request's path at DEBUG; for Telegram and webhooks the path is the
# credential, so its request lines stay out of the logs even at LOG_LEVEL=DEBUG.
LOGGING.setdefault("loggers", {})["urllib3.connectionpool"] = {"level": "INFO"}
# Hosts a worker-chosen URL (a self-heal callback) may reach although they resolve to a
# loopback or private address; every other such address is refused. Comma-separated.
PLS_OUTBOUND_ALLOWED_HOSTS = env.list("PLS_OUTBOUND_ALLOWED_HOSTS", default=[])
# Outbound HTTP (config/http.py): seconds to connect, and to wait for each read.
PLS_HTTP_CONNECT_TIMEOUT = env.float("PLS_HTTP_CONNECT_TIMEOUT", default=3.05)
PLS_HTTP_READ_TIMEOUT = env.float("PLS_HTTP_READ_TIMEOUT", default=10.0)

CELERY_BEAT_SCHEDULE.update(
    {
        "notifications-drain-sweep": {
            "task": "notifications.tasks.drain_sweep",
            "schedule": PLS_NOTIFY_SWEEP_SECONDS,
        },
        # Digests are built by the apps that own the figures (notifications.digests).
        "notifications-daily-scorecard": {
            "task": "notifications.tasks.send_digest",
            "schedule": crontab(hour=PLS_DAILY_DIGEST_AT[0], minute=PLS_DAILY_DIGEST_AT[1]),
            "args": ["daily_scorecard"],
        },
        "notifications-weekly-learning-review": {
            "task": "notifications.tasks.send_digest",
            "schedule": crontab(
                day_of_week=PLS_WEEKLY_REVIEW_AT[0],
                hour=PLS_WEEKLY_REVIEW_AT[1],
                minute=PLS_WEEKLY_REVIEW_AT[2],
            ),
            "args": ["weekly_learning"],
        },
    }
)

# --- Jobs, claims, leases and budgets (repairs app, DESIGN §2 stuck_claim) ----------------------
# How long a claim holds its job without a heartbeat; each heartbeat (or the holder's repeated
# claim) renews it for this long. A lease that runs out is a stuck claim.
PLS_JOB_LEASE = timedelta(seconds=env.int("PLS_JOB_LEASE_SECONDS", default=15 * 60))
# How often beat runs the stuck-claim watchdog; a stuck claim is noticed within this time
# after its lease expired.
PLS_STUCK_CLAIM_SWEEP_SECONDS = env.float("PLS_STUCK_CLAIM_SWEEP_SECONDS", default=60.0)
# Most stuck claims one watchdog run records (one transaction each); the rest wait for the
# next run, so a mass expiry after an outage cannot hold one task for long.
PLS_STUCK_CLAIM_BATCH = env.int("PLS_STUCK_CLAIM_BATCH", default=500)
# Share of its monthly budget (percent) at which a worker's owner is warned, once a month; at
# 100 % the worker is paused.
PLS_BUDGET_WARN_PERCENT = env.int("PLS_BUDGET_WARN_PERCENT", default=80)
# The currency of every budget and spend (ISO 4217; core/money.py formats it per language).
# A label, not a conversion: amounts are hundredths of it as workers report them. USD by
# default because model providers bill in it; set TWD where budgets are kept in NT$.
PLS_CURRENCY = env.str("PLS_CURRENCY", default="USD").upper()
if not is_currency(PLS_CURRENCY):
    raise ImproperlyConfigured(
        f"PLS_CURRENCY={PLS_CURRENCY!r} is not an ISO 4217 currency code, e.g. TWD or USD."
    )
CELERY_BEAT_SCHEDULE.update(
    {
        "stuck-claims-sweep": {
            "task": "repairs.tasks.stuck_claims_sweep",
            "schedule": PLS_STUCK_CLAIM_SWEEP_SECONDS,
        }
    }
)

# --- Artifact gate checks (artifacts app, DESIGN §2 artifact_guard) ----------------------------
# Workers choose the URLs the server fetches: every address that is not public (loopback,
# private, link-local such as cloud metadata, multicast, reserved; IPv4-mapped IPv6 too) is
# refused, at every redirect hop, unless the URL's host name is listed here. Comma-separated
# host names as written in URLs (e.g. an intranet artifact store); empty in production.
ARTIFACT_ALLOWED_HOSTS = env.list("ARTIFACT_ALLOWED_HOSTS", default=[])
# URLs one check fetches at once (a thread pool per check); the rest wait for a free thread.
ARTIFACT_FETCH_THREADS = env.int("ARTIFACT_FETCH_THREADS", default=8)
# Seconds to connect, and to wait for each read, per URL and redirect hop.
ARTIFACT_CONNECT_TIMEOUT = env.float("ARTIFACT_CONNECT_TIMEOUT", default=3.05)
ARTIFACT_READ_TIMEOUT = env.float("ARTIFACT_READ_TIMEOUT", default=10.0)
# Seconds one URL may take in all (hops and body): a peer dripping a byte per read timeout
# cannot hold a check for longer.
ARTIFACT_FETCH_DEADLINE_SECONDS = env.float("ARTIFACT_FETCH_DEADLINE_SECONDS", default=60.0)
# Bytes read of a URL without a sha256: enough to show it opens; the rest is not downloaded.
ARTIFACT_MAX_BYTES = env.int("ARTIFACT_MAX_BYTES", default=1024 * 1024)
# A sha256 covers the whole body, so a URL with one is read to its end, up to this many
# bytes; a larger body fails the check with "too large to hash" (no partial hash passes).
ARTIFACT_HASH_MAX_BYTES = env.int("ARTIFACT_HASH_MAX_BYTES", default=256 * 1024 * 1024)
# Redirects followed per URL, each hop re-checked by the guard; more fail the check.
ARTIFACT_MAX_REDIRECTS = env.int("ARTIFACT_MAX_REDIRECTS", default=5)
# Upload files one check may list (bounds one check's work).
ARTIFACT_MAX_UPLOADS = env.int("ARTIFACT_MAX_UPLOADS", default=50)
# A check still pending after this many seconds had its task lost (the broker was down at
# submission): the sweep asks Celery for it again. A duplicate task is a no-op.
ARTIFACT_CHECK_REPUBLISH_SECONDS = env.int("ARTIFACT_CHECK_REPUBLISH_SECONDS", default=120)
# A check running for longer than this lost its worker and is run again. It must exceed the
# longest run: ceil((1 + uploads) / threads) x (deadline + timeouts) is under 10 min with the
# defaults.
ARTIFACT_CHECK_STALE_SECONDS = env.int("ARTIFACT_CHECK_STALE_SECONDS", default=900)
# Runs a check gets; one that lost its worker this often ends in "error" (never stuck).
ARTIFACT_CHECK_MAX_ATTEMPTS = env.int("ARTIFACT_CHECK_MAX_ATTEMPTS", default=3)
ARTIFACT_SWEEP_SECONDS = env.float("ARTIFACT_SWEEP_SECONDS", default=60.0)
# Checks wait on the network, so they have their own queue, consumed by a worker with the
# threads pool (`celery -A config worker -Q artifacts -P threads -c 32`): they never delay
# owner notifications, and dozens run at once in one process.
CELERY_TASK_ROUTES = {
    **vars().get("CELERY_TASK_ROUTES", {}),
    "artifacts.tasks.artifact_check_run": {"queue": "artifacts"},
}
CELERY_BEAT_SCHEDULE.update(
    {
        "artifact-checks-sweep": {
            "task": "artifacts.tasks.artifact_checks_sweep",
            "schedule": ARTIFACT_SWEEP_SECONDS,
        }
    }
)

# --- Learning memory and the prompt pack (learning app, DESIGN §2 worker_learning) -------------
# The next_round_priority (1 = do first … 5) of a lesson reported without one, and of the
# lesson a resolved repair event records by itself.
PLS_LEARNING_DEFAULT_PRIORITY = env.int("PLS_LEARNING_DEFAULT_PRIORITY", default=3)
# A prompt pack carries at most this many lessons (the most urgent); it is pasted into every
# worker's instructions, where each line costs context, and says how many it left out.
PLS_LEARNING_PACK_MAX_LESSONS = env.int("PLS_LEARNING_PACK_MAX_LESSONS", default=100)
# The weekly learning review quotes at most this many new lessons and friction reports each;
# the console has the rest.
PLS_LEARNING_DIGEST_MAX_LINES = env.int("PLS_LEARNING_DIGEST_MAX_LINES", default=10)

# --- Console home and scorecard (dashboards app, DESIGN §8) -------------------------------------
# The home lists at most this many pending approvals (oldest first) and waiting proposals,
# with a link to the rest: the page stays one screen and its cost fixed when a queue backs up.
PLS_CONSOLE_PENDING_LIMIT = env.int("PLS_CONSOLE_PENDING_LIMIT", default=20)
# Workers on the home's status board (errors and paused ones first); the list has them all.
PLS_CONSOLE_WORKER_BOARD_LIMIT = env.int("PLS_CONSOLE_WORKER_BOARD_LIMIT", default=50)
# The scorecard window the home shows unless the person picks another (?days=1..90).
PLS_CONSOLE_SCORECARD_DAYS = env.int("PLS_CONSOLE_SCORECARD_DAYS", default=7)
# The event rollup (dashboards/services.py) counts an event once it was received this many
# seconds ago: ids are handed out at INSERT, not COMMIT, and an event still uncommitted when
# the mark passes its id would never be counted. Younger events are counted live.
PLS_ROLLUP_SETTLE_SECONDS = env.int("PLS_ROLLUP_SETTLE_SECONDS", default=30)
# At most this many event ids per rollup run, so catching up on a big backlog (a first
# deploy on a full table) takes several short runs instead of one long transaction.
PLS_ROLLUP_BATCH = env.int("PLS_ROLLUP_BATCH", default=250_000)
# Outcomes (resolved / failed) arrive after their event; each minute's run recounts them for
# events of this many recent days (a scan of those days only). An outcome set on an older
# event reaches the scorecard with the hourly rebuild.
PLS_ROLLUP_OUTCOME_DAYS = env.int("PLS_ROLLUP_OUTCOME_DAYS", default=3)
CELERY_BEAT_SCHEDULE.update(
    {
        "dashboards-event-rollup": {
            "task": "dashboards.tasks.event_rollup",
            "schedule": env.float("PLS_ROLLUP_SECONDS", default=60.0),
        },
        # Recounts the window from the events table: corrects what a transaction open longer
        # than the settle time slipped past the mark, and drops days no window reads.
        "dashboards-event-rollup-rebuild": {
            "task": "dashboards.tasks.event_rollup_rebuild",
            "schedule": crontab(minute=35),
        },
    }
)
# Console login (and HTTP Basic on the API) against password guessing, by django-axes:
# after AXES_FAILURE_LIMIT wrong passwords for one username from one address, that pair is
# refused (HTTP 429) for AXES_COOLOFF_TIME even with the right password. Locking the pair,
# not the username alone, keeps a guesser elsewhere from locking the owner out.
# Unlock early with `manage.py axes_reset_username <name>` (or axes_reset for everyone).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Attempts are rows in the database, not cache entries: the count is shared by every web
# process whatever the cache (the embedded default's file cache is not atomic), survives
# restarts, and the owner reads lockouts in the console (Axes → Access attempts).
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_TEMPLATE = "admin/lockout.html"
# Renders that template with the cool-off in the reader's words (console/lockout.py).
AXES_LOCKOUT_CALLABLE = "console.lockout.lockout_response"

# --- Load and fault tolerance (issue 7) ---------------------------------------------------------
# Requests one worker (a person: one user) may send to the API per window, as
# "<requests>/<period>" (s, min, h or d, optionally counted: "100/10s"); empty = no limit.
# Over it: 429 with Retry-After until the window ends (config/throttling.py). A worker
# reporting events, heartbeats and claims sends a few requests a second at its busiest;
# 600/min (10 a second over a minute) leaves it room for a burst, such as replaying a backlog
# of a hundred events after a network blip, while a worker stuck in a retry loop (hundreds a
# second) is held to a small share of what ingest serves the whole fleet (hundreds a second).
# Counted in the cache, so all web processes share one count per worker (Redis in
# production); requests go through uncounted while the cache is unavailable.
PLS_WORKER_RATE_LIMIT = env.str("PLS_WORKER_RATE_LIMIT", default="600/min")
from core.throttling import parse_rate  # noqa: E402 - the format lives with the throttle

parse_rate(PLS_WORKER_RATE_LIMIT)  # a malformed rate stops the process here, not each request
# Chat interactions (POST /api/v1/channels/{id}/interactions) per channel and window, signed
# or not: the provider signs them, so there is no user to count them by.
PLS_CHANNEL_RATE_LIMIT = env.str("PLS_CHANNEL_RATE_LIMIT", default="600/min")
parse_rate(PLS_CHANNEL_RATE_LIMIT, "PLS_CHANNEL_RATE_LIMIT")
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["core.throttling.WorkerRateThrottle"]
if REDIS_URL:
    # The cache is on the request path (the rate limit, drain-queued marks). redis-py waits
    # forever by default: a Redis that stops answering without closing its connections (a
    # frozen process, a dropped network) would hold every request until gunicorn kills it.
    # Seconds to connect and per command. Cache commands take well under a millisecond, and
    # every cache use here survives a failed command (the limiter lets the request through,
    # a drain is published anyway), so the timeout only bounds what a hung Redis costs.
    _cache_timeout = env.float("PLS_CACHE_TIMEOUT_SECONDS", default=0.5)
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {"socket_connect_timeout": _cache_timeout, "socket_timeout": _cache_timeout}
    )

# --- Retention (console/retention.py, core/retention.py) ------------------------------------------
# Days each kind of record is kept; 0 keeps it for ever. Decisions, self-heal requests (and
# their events), lessons and the audit trail are always kept. Events are kept at least 90
# days, the scorecard's longest window.
PLS_RETAIN_EVENTS_DAYS = env.int("PLS_RETAIN_EVENTS_DAYS", default=365)
# Sent and suppressed owner reports (pending, unrouted and failed ones stay until they go).
PLS_RETAIN_REPORTS_DAYS = env.int("PLS_RETAIN_REPORTS_DAYS", default=90)
# The per-URL results and upload lists of finished artifact checks; the checks stay.
PLS_RETAIN_CHECK_BODIES_DAYS = env.int("PLS_RETAIN_CHECK_BODIES_DAYS", default=30)
# The tool-call verdict log (POST /api/v1/tool-verdicts); the requests it opened stay.
PLS_RETAIN_VERDICTS_DAYS = env.int("PLS_RETAIN_VERDICTS_DAYS", default=90)
# The ids of handled chat callbacks (kept against replays) and spent chat link codes.
PLS_RETAIN_CHAT_CALLBACKS_DAYS = env.int("PLS_RETAIN_CHAT_CALLBACKS_DAYS", default=30)
# Ingest's per-fingerprint repeat counters, this many days after their repeat window passed
# (a counter that old counts nothing; deleting it changes no report's count).
PLS_RETAIN_REPEAT_COUNTERS_DAYS = env.int("PLS_RETAIN_REPEAT_COUNTERS_DAYS", default=1)
# A worker's spent retry budget for a job and error class, once no report about them came
# for this many days (at least 30); a later retry starts a new budget.
PLS_RETAIN_BUDGET_SPENDS_DAYS = env.int("PLS_RETAIN_BUDGET_SPENDS_DAYS", default=365)
# Rows removed per transaction: each batch's locks are held for one short statement.
PLS_RETENTION_BATCH = env.int("PLS_RETENTION_BATCH", default=1000)
CELERY_BEAT_SCHEDULE.update(
    {
        "retention-purge": {
            "task": "console.tasks.retention_purge",
            "schedule": crontab(minute=40),
        }
    }
)
