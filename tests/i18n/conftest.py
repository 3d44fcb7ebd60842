import pytest
from django.contrib.auth.models import User

from core.profiles import profile_update


@pytest.fixture
def chinese_client(client):
    """A superuser whose profile reads the console in zh-Hant."""
    person = User.objects.create_superuser("owner-zh", password="x")
    profile_update(user=person, language="zh-hant")
    client.force_login(person)
    return client
