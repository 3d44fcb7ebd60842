import pytest
from django.contrib.auth.models import User

from core.profiles import profile_update

# The chat tests' channel, pending request and poster, for the chat answers' language.
from tests.chat.conftest import chat_channel, pending, post  # noqa: F401


@pytest.fixture
def chinese_client(client):
    """A superuser's client whose profile reads the console in zh-Hant."""
    person = User.objects.create_superuser("owner-zh", password="x")
    profile_update(user=person, language="zh-hant")
    client.force_login(person)
    return client
