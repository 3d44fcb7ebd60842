"""The header's language switch: the choice is kept on the person's profile and wins over
their browser's Accept-Language on every later request."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from core.profiles import profile_for

pytestmark = pytest.mark.django_db
SWITCH = reverse("admin:console_language_choose")
HOME = reverse("admin:index")


def test_the_header_offers_both_languages(client, viewer):
    client.force_login(viewer)

    html = client.get(HOME).content.decode()

    assert f'<form id="language-form" method="post" action="{SWITCH}">' in html
    assert '<option value="zh-hant" lang="zh-hant">繁體中文</option>' in html
    assert '<option value="en" lang="en" selected>English</option>' in html


def test_switching_keeps_the_choice_on_the_profile_and_the_console_follows(client, viewer):
    client.force_login(viewer)

    response = client.post(SWITCH, {"language": "zh-hant", "next": "/admin/?days=30"})

    assert response.status_code == 302 and response["Location"] == "/admin/?days=30"
    assert profile_for(User.objects.get(pk=viewer.pk)).language == "zh-hant"
    home = client.get(HOME, HTTP_ACCEPT_LANGUAGE="en")
    assert home["Content-Language"] == "zh-hant"
    assert "待核准" in home.content.decode() or "可靠度計分卡" in home.content.decode()


def test_switching_back_to_english(client, viewer):
    client.force_login(viewer)
    client.post(SWITCH, {"language": "zh-hant"})

    client.post(SWITCH, {"language": "en"})

    assert client.get(HOME, HTTP_ACCEPT_LANGUAGE="zh-Hant")["Content-Language"] == "en"


def test_without_a_choice_the_browser_language_applies(client, viewer):
    client.force_login(viewer)

    assert client.get(HOME, HTTP_ACCEPT_LANGUAGE="zh-TW")["Content-Language"] == "zh-hant"
    assert client.get(HOME, HTTP_ACCEPT_LANGUAGE="en-US")["Content-Language"] == "en"


def test_an_unknown_language_or_a_foreign_next_is_refused(client, viewer):
    client.force_login(viewer)

    assert client.post(SWITCH, {"language": "tlh"}).status_code == 400
    assert profile_for(User.objects.get(pk=viewer.pk)).language == ""
    away = client.post(SWITCH, {"language": "en", "next": "https://evil.example/"})
    assert away["Location"] == HOME


def test_the_switch_needs_a_signed_in_post(client, viewer):
    assert client.post(SWITCH, {"language": "en"})["Location"].startswith("/admin/login/")
    client.force_login(viewer)
    assert client.get(SWITCH).status_code == 405
