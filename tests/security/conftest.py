import pytest
from django.contrib.auth.models import Group

from core.roles import OPS_VIEWER
from tests.factories import ChannelFactory, UserFactory, policy_set
from tests.security.fleet import worker_with_records


@pytest.fixture
def alpha(db):
    return worker_with_records(team="alpha")


@pytest.fixture
def beta(db):
    return worker_with_records(team="beta")


@pytest.fixture
def console_records(alpha, beta):
    """One of every record the console shows, so every change and delete has a target: the
    two workers' records, a policy decision (and the version it wrote), a channel, a prompt
    pack export."""
    policy_set(max_auto_retries=2)
    ChannelFactory()
    assert alpha.client().get("/api/v1/learning/prompt-pack").status_code == 200
    return alpha, beta


@pytest.fixture
def ops_viewer(db):
    """An on-call person in ops_viewer only; password as tests.factories.UserFactory's."""
    user = UserFactory(is_staff=True, username="viewer-on-call")
    user.groups.add(Group.objects.get(name=OPS_VIEWER))
    return user
