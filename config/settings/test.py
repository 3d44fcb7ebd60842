"""Test settings: the base settings, with a fast password hasher and an isolated .var."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403

# The suite asserts English text; the Traditional Chinese console has tests of its own
# (tests/console/test_languages.py and friends), which activate zh-hant themselves.
LANGUAGE_CODE = "en"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests change roles mid-test; tests/test_permission_cache.py turns the cache on itself.
PLS_PERMISSION_CACHE_SECONDS = 0
PLS_POLICY_CACHE_SECONDS = 0
# django-axes refuses authenticate() without a request, which some tests call directly
# (tests/repairs/test_seed_demo.py). Off here; the tests of the login rate limit
# (tests/test_console_roles.py, tests/browser) turn it on.
AXES_ENABLED = False
# Tests' callback receivers are local HTTP servers; tests of the guard clear this.
PLS_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
_tmp = Path(tempfile.mkdtemp(prefix="pls-test-"))
STATIC_ROOT = _tmp / "static"
STATIC_ROOT.mkdir()
if not REDIS_URL:  # noqa: F405
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
CELERY_BEAT_SCHEDULE_FILENAME = str(_tmp / "celerybeat-schedule")
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    # No pool in the test process: tests point the connection at other settings and databases
    # (an unreachable server, a restored copy), which a process's pool, opened once, would
    # not follow. The processes tests start (gunicorn in tests/faults) pool as deployed.
    DATABASES["default"]["OPTIONS"].pop("pool", None)  # noqa: F405
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not SQLite's in-memory default, so a test may close and reopen the connection.
    DATABASES["default"]["TEST"] = {"NAME": str(_tmp / "test.sqlite3")}  # noqa: F405
# Tests' artifact servers are local HTTP servers; tests of the SSRF guard clear this.
ARTIFACT_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
# No rate limit: suites send bursts from one worker. tests/test_rate_limit.py and the fault
# drills (tests/faults) set a rate of their own.
PLS_WORKER_RATE_LIMIT = ""
PLS_CHANNEL_RATE_LIMIT = ""
