"""Money is written in the budget currency, for the reader's language."""

import pytest
from django.test import override_settings
from django.utils import translation

from core.money import currency, money


@override_settings(PLS_CURRENCY="TWD")
def test_new_taiwan_dollars_read_as_the_home_currency_in_chinese_and_as_nt_in_english():
    assert money(123_456, language="zh-hant") == "$1,234.56"
    assert money(123_456, language="en") == "NT$1,234.56"
    assert currency() == "TWD"


@override_settings(PLS_CURRENCY="USD")
def test_us_dollars_are_marked_as_such_for_a_chinese_reader():
    assert money(10_000, language="zh-hant") == "US$100.00"
    assert money(10_000, language="en") == "$100.00"


@override_settings(PLS_CURRENCY="TWD")
def test_without_a_language_the_active_one_is_used():
    with translation.override("en"):
        assert money(50) == "NT$0.50"
    with translation.override("zh-hant"):
        assert money(50) == "$0.50"


@override_settings(PLS_CURRENCY="TWD")
def test_the_console_budget_column_and_the_api_use_the_same_currency(
    owner, session_client, worker_client, worker
):
    worker.monthly_budget_cents = 10_000
    worker.save()
    worker_client.post("/api/v1/workers/me/usage", {"cents": 2_550}, format="json")

    body = worker_client.get("/api/v1/workers/me").json()
    assert (body["currency"], body["month_spend_cents"]) == ("TWD", 2_550)

    page = session_client(owner).get("/admin/repairs/worker/", HTTP_ACCEPT_LANGUAGE="en")
    assert "NT$25.50 of NT$100.00 (25 %)" in page.content.decode()


pytestmark = pytest.mark.django_db
