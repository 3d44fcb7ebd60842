# The chat tests' channel, pending request and poster, for the chat answers' language.
from tests.chat.conftest import chat_channel, pending, post  # noqa: F401
