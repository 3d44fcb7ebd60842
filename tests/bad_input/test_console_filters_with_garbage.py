"""Every console list, its filters, search, date drill-down, ordering and paging, given values
no link in the console would carry: the page renders, or it answers 400; never a 500.

A NUL reached PostgreSQL from a list filter (``/admin/repairs/job/?status__exact=a%00b``) and
from a search (``?q=%00``); psycopg refuses NUL in a query parameter, so it was a 500.
"""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from tests.factories import UserFactory

GARBAGE = ["a\x00b", "99999999999999999999999999", "\x01\x1f\x7f'\"%_\\;--" + "x" * 1000]
# The last year a date holds: a year's drill-down ends past it.
DATE_GARBAGE = ["9999", "0", "-1"]

REGISTERED = sorted(
    admin.site._registry.items(), key=lambda item: item[0]._meta.label
)  # every ModelAdmin of the console, whatever app registered it


def _changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def _query_parameters(model_admin, user) -> set[str]:
    """The parameters the changelist's own links use: each filter's, the date drill-down's,
    search, ordering and page."""
    request = RequestFactory().get(_changelist(model_admin.model))
    request.user = user
    changelist = model_admin.get_changelist_instance(request)
    names = {"q", "o", "p", "e", "all"}
    for spec in changelist.filter_specs:
        names.update(spec.expected_parameters())
    if model_admin.date_hierarchy:
        names.update(f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day"))
    return names


def _viewer_of(model_admin, owner):
    """The owner, or a superuser for the few lists the owner's role does not open (users,
    groups, login attempts), so that every list is tried."""
    request = RequestFactory().get("/")
    request.user = owner
    if model_admin.has_view_permission(request):
        return owner
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTERED, ids=[model._meta.label for model, _ in REGISTERED]
)
def test_a_console_list_renders_or_refuses_garbage_in_its_query(client, owner, model, model_admin):
    person = _viewer_of(model_admin, owner)
    client.force_login(person)
    url = _changelist(model)
    assert client.get(url).status_code == 200
    client.raise_request_exception = False

    failures = []
    for name in sorted(_query_parameters(model_admin, person)):
        dated = name.endswith(("__year", "__month", "__day"))
        for value in GARBAGE + (DATE_GARBAGE if dated else []):
            response = client.get(url, {name: value})
            if response.status_code not in (200, 302, 400):
                failures.append((name, value[:20], response.status_code))

    assert not failures, failures
