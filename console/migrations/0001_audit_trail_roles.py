"""The owner and the viewer read the audit trail (Django's admin log)."""

from django.db import migrations

from core.roles import OPS_VIEWER, PLS_OWNER, grant


def grant_roles(apps, schema_editor):
    grant(apps, {PLS_OWNER: ["admin.view_logentry"], OPS_VIEWER: ["admin.view_logentry"]})


class Migration(migrations.Migration):
    dependencies = [
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant_roles, migrations.RunPython.noop)]
