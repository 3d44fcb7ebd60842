"""The fuzzing harness: the product's WSGI application called in-process, on the test
database, the way gunicorn would call it (CSRF, middleware and the 404/500 handlers all in
play)."""

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections


@pytest.fixture
def keep_test_connection():
    """Django closes the database connection around each request when it is not in
    autocommit; inside a test's transaction that would throw the test's data away. Django's
    own test client disconnects the same handler for the same reason, and connects it again
    after each of its requests: ask for this fixture after any setup that uses it."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
