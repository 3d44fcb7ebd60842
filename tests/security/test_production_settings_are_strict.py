"""Production settings: HTTPS only, secure and HTTP-only cookies, HSTS, CSRF on, and
``manage.py check --deploy`` clean.

Each check runs ``manage.py`` in a subprocess with DJANGO_SETTINGS_MODULE set to
config.settings.production and a production-like environment, as the deployment would.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}},
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def _production(tmp_path, **env: str) -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "console.example.com,testserver",
        "PLS_VAR_DIR": str(tmp_path),
        **env,
    }


def test_check_deploy_is_clean_with_a_production_environment(tmp_path):
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **_production(tmp_path))

    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _manage("check", PLS_VAR_DIR=str(tmp_path), SECRET_KEY="")

    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_production_refuses_the_embedded_default_secret_key(tmp_path):
    env = _production(tmp_path, SECRET_KEY="insecure-embedded-default-not-for-production")

    result = _manage("check", **env)

    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


SETTINGS_AND_MIDDLEWARE = """
import json
from django.conf import settings
print(json.dumps({name: getattr(settings, name) for name in [
    "DEBUG", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_PROXY_SSL_HEADER", "X_FRAME_OPTIONS",
    "MIDDLEWARE",
]}))
"""


@pytest.fixture(scope="module")
def production_settings(tmp_path_factory) -> dict:
    result = _manage(
        "shell", "-c", SETTINGS_AND_MIDDLEWARE, **_production(tmp_path_factory.mktemp("var"))
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("DEBUG", False),
        ("SESSION_COOKIE_SECURE", True),
        ("SESSION_COOKIE_HTTPONLY", True),
        ("CSRF_COOKIE_SECURE", True),
        ("SECURE_SSL_REDIRECT", True),
        ("SECURE_HSTS_INCLUDE_SUBDOMAINS", True),
        ("SECURE_CONTENT_TYPE_NOSNIFF", True),
        ("SECURE_PROXY_SSL_HEADER", ["HTTP_X_FORWARDED_PROTO", "https"]),
        ("X_FRAME_OPTIONS", "DENY"),
    ],
)
def test_a_production_setting_is_strict(production_settings, name, expected):
    assert production_settings[name] == expected


def test_hsts_lasts_at_least_thirty_days(production_settings):
    assert production_settings["SECURE_HSTS_SECONDS"] >= 30 * 24 * 3600


def test_csrf_clickjacking_and_security_middleware_are_on(production_settings):
    middleware = production_settings["MIDDLEWARE"]

    assert "django.middleware.security.SecurityMiddleware" in middleware
    assert "django.middleware.csrf.CsrfViewMiddleware" in middleware
    assert "django.middleware.clickjacking.XFrameOptionsMiddleware" in middleware


OVER_HTTP = """
from django.test import Client
plain, behind_tls = Client(), Client(HTTP_X_FORWARDED_PROTO="https")
api = plain.get("/api/v1/jobs")
print(api.status_code, api.get("Location"))
print(plain.get("/health").status_code)
secure = behind_tls.get("/health")
print(secure.status_code, secure.get("Strict-Transport-Security"))
"""


def test_plain_http_is_redirected_to_https_and_https_gets_hsts(tmp_path):
    result = _manage("shell", "-c", OVER_HTTP, **_production(tmp_path))

    assert result.returncode == 0, result.stderr
    api, health, secure = result.stdout.strip().splitlines()[-3:]
    assert api == "301 https://testserver/api/v1/jobs"
    # Load balancers probe /health over plain HTTP inside the network.
    assert health == "200"
    assert secure.startswith("200 max-age=")
    assert "includeSubDomains" in secure
