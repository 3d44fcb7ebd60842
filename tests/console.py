"""What the console tests share: reading a changelist's actions and the messages a page shows,
and posting an admin action through its intermediate page."""

from django.contrib.admin.sites import site
from django.contrib.messages import get_messages
from django.db.models import Model
from django.http import HttpResponse
from django.test import Client, RequestFactory

EVENTS = "/api/v1/worker-repair-events"


def action_names(client: Client, changelist: str) -> set[str]:
    """The admin actions the changelist offers to the logged-in person."""
    response = client.get(changelist)
    assert response.status_code == 200
    form = response.context["action_form"]
    return set() if form is None else {name for name, _ in form.fields["action"].choices if name}


def run_action(
    client: Client, changelist: str, action: str, rows: list[Model], **form: str
) -> HttpResponse:
    """Runs the admin ``action`` on ``rows`` past its intermediate page, as the click on the
    page's submit button does, and follows the console back to the changelist."""
    return client.post(
        changelist,
        {"action": action, "_selected_action": [row.pk for row in rows], "_decide": "1", **form},
        follow=True,
    )


def shown_messages(response: HttpResponse) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def console_rights(user, obj: Model) -> dict[str, bool]:
    """Whether the console lets ``user`` add, change and delete rows like ``obj``."""
    request = RequestFactory().get("/")
    request.user = user
    model_admin = site.get_model_admin(type(obj))
    return {
        "add": model_admin.has_add_permission(request),
        "change": model_admin.has_change_permission(request, obj),
        "delete": model_admin.has_delete_permission(request, obj),
    }
