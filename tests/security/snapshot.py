"""Everything the console stores, to show a request changed nothing."""

from django.apps import apps

# Apps whose rows are the console's state: people, roles, and every domain record.
APPS = (
    "auth",
    "axes",
    "policies",
    "repairs",
    "artifacts",
    "learning",
    "notifications",
    "dashboards",
)
# Written by logging in (force_login), not by any request under test.
IGNORED = {("auth", "user"): {"last_login"}}


def database_snapshot() -> dict[str, list[dict]]:
    snapshot = {}
    for app in APPS:
        for model in apps.get_app_config(app).get_models():
            ignored = IGNORED.get((app, model._meta.model_name), set())
            rows = model.objects.order_by("pk").values()
            snapshot[model._meta.label] = [
                {key: value for key, value in row.items() if key not in ignored} for row in rows
            ]
            for field in model._meta.many_to_many:
                through = field.remote_field.through
                snapshot[through._meta.label] = list(through.objects.order_by("pk").values())
    return snapshot
