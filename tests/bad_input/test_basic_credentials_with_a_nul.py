"""HTTP Basic credentials with a NUL in the username or password are refused (401) before any
login is attempted.

PostgreSQL refuses NUL in text, so looking the username up (and django-axes recording the
failed attempt) was a 500.
"""

from base64 import b64encode

import pytest

from core.problems import PROBLEM_CONTENT_TYPE


@pytest.mark.parametrize(
    "credentials", ["a\x00b:password", "{owner}\x00:password", "{owner}:pw\x00"]
)
def test_basic_credentials_with_a_nul_are_a_401_problem(client, owner, credentials):
    basic = b64encode(credentials.format(owner=owner.username).encode()).decode()

    response = client.get("/api/v1/worker-repair-events", HTTP_AUTHORIZATION=f"Basic {basic}")

    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE


def test_a_nul_never_reaches_the_login_attempt_log(client, owner, settings):
    # django-axes (on in production) records every failed attempt with its username.
    settings.AXES_ENABLED = True
    basic = b64encode(b"a\x00b:password").decode()

    response = client.get("/api/v1/worker-repair-events", HTTP_AUTHORIZATION=f"Basic {basic}")

    assert response.status_code == 401
