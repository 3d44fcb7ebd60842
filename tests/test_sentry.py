"""SENTRY_DSN turns on error reporting; what leaves for Sentry is redacted like a log line.
A real process with the setting reports an error to a local server playing Sentry."""

import gzip
import os
import subprocess
import sys
import zlib

from core.sentry import before_send

TOKEN = "pls_" + "q9w8e7r6t5y4u3i2o1p0" * 2

SCRIPT = f"""
import django
django.setup()
import sentry_sdk
try:
    raise RuntimeError("the worker pasted Authorization: Bearer {TOKEN}")
except RuntimeError as exc:
    sentry_sdk.capture_exception(exc)
sentry_sdk.flush(timeout=10)
"""


def test_before_send_redacts_every_string_of_an_event():
    event = {
        "message": f"token={TOKEN}",
        "exception": {"values": [{"type": "RuntimeError", "value": f"Bearer {TOKEN}"}]},
        "extra": {"evidence": [f"curl -H 'Authorization: Bearer {TOKEN}'", 3]},
    }

    sent = before_send(event, {})

    assert TOKEN not in repr(sent)
    assert sent["exception"]["values"][0]["type"] == "RuntimeError"
    assert sent["extra"]["evidence"][1] == 3


def test_a_process_with_sentry_dsn_reports_errors_redacted(httpserver):
    httpserver.expect_request("/api/1/envelope/", method="POST").respond_with_data("{}")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "SENTRY_DSN": httpserver.url_for("/1").replace("http://", "http://publickey@"),
    }

    subprocess.run([sys.executable, "-c", SCRIPT], env=env, check=True, timeout=60)

    ((request, _),) = [entry for entry in httpserver.log if "envelope" in entry[0].path]
    body = request.get_data()
    encoding = request.headers.get("Content-Encoding", "")
    if encoding == "gzip":
        body = gzip.decompress(body)
    elif encoding == "deflate":
        body = zlib.decompress(body)
    text = body.decode(errors="replace")
    assert "RuntimeError" in text
    assert "[REDACTED:" in text
    assert TOKEN not in text
