"""The console's "Link my chat account" page: a one-time code, shown once, and the accounts
linked to the person; the approvals panel leads to it."""

import pytest
from django.urls import reverse

from notifications.models import ChatLinkCode
from tests.chat.conftest import linked

pytestmark = pytest.mark.django_db
PAGE = "/admin/console/chat-link/"


def test_the_approvals_panel_leads_to_linking(client, reviewer, pending):
    client.force_login(reviewer)

    home = client.get(reverse("admin:index")).content.decode()

    assert PAGE in home


def test_the_page_shows_a_fresh_code_once_and_keeps_only_its_hash(client, reviewer):
    client.force_login(reviewer)

    code = client.post(PAGE).context["code"]

    assert len(code) == 8
    stored = ChatLinkCode.objects.get(user=reviewer)
    assert code not in stored.code_hash
    assert client.get(PAGE).context["code"] == ""


def test_the_page_lists_the_persons_linked_accounts(client, reviewer, chat_channel):
    linked(chat_channel("telegram"), reviewer, "4242", "@louis")
    client.force_login(reviewer)

    page = client.get(PAGE).content.decode()

    assert "@louis" in page


def test_the_page_needs_a_login(client):
    assert client.get(PAGE).status_code == 302
