import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection
from rest_framework.test import APIClient

from core.roles import OPS_VIEWER, PLS_OWNER, RISK_REVIEWER
from tests.factories import UserFactory, WorkerFactory, issue_token


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skips, with the reason, the tests whose real service this run does not have."""
    uses_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip_postgres = pytest.mark.skip(
        reason="needs PostgreSQL: set DATABASE_URL=postgres://... (the embedded SQLite "
        "cannot show row locking or concurrent writers)"
    )
    skip_redis = pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://...")
    for item in items:
        if item.get_closest_marker("postgres") and not uses_postgres:
            item.add_marker(skip_postgres)
        if item.get_closest_marker("redis") and not settings.REDIS_URL:
            item.add_marker(skip_redis)


@pytest.fixture(scope="session", autouse=True)
def _migration_data_survives_the_run(django_db_setup, django_db_blocker):
    """Puts the migrations' data (roles, the interim policy, the policy questions) back at
    the end of the run.

    A transactional test empties the tables when it ends, and Django restores the data only
    when the next such test starts; after the last one the database is left empty, and a
    later ``--reuse-db`` run would find no roles.
    """
    yield
    with django_db_blocker.unblock():
        contents = getattr(connection, "_test_serialized_contents", None)
        if contents and not Group.objects.exists():
            connection.creation.deserialize_db_from_string(contents)


@pytest.fixture
def worker(db):
    return WorkerFactory()


@pytest.fixture
def worker_token(worker) -> str:
    return issue_token(worker)


@pytest.fixture
def worker_client(worker_token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {worker_token}")
    return client


def _person(role: str):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def owner(db):
    return _person(PLS_OWNER)


@pytest.fixture
def reviewer(db):
    return _person(RISK_REVIEWER)


@pytest.fixture
def viewer(db):
    return _person(OPS_VIEWER)


@pytest.fixture
def session_client():
    """Logs a person in, as the console does, and returns an API client with that session."""

    def login(user) -> APIClient:
        client = APIClient()
        client.force_login(user)
        return client

    return login


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"
