from django.db import migrations

from core.roles import OPS_VIEWER, PLS_OWNER, RISK_REVIEWER, grant


def create_roles(apps, schema_editor):
    grant(
        apps,
        {
            # Only the owner manages channels (they hold credentials), replays failed reports
            # (change) and purges archived ones (delete).
            PLS_OWNER: [
                "notifications.add_channel",
                "notifications.change_channel",
                "notifications.delete_channel",
                "notifications.view_channel",
                "notifications.view_ownerreport",
                "notifications.change_ownerreport",
                "notifications.delete_ownerreport",
            ],
            RISK_REVIEWER: ["notifications.view_ownerreport"],
            OPS_VIEWER: ["notifications.view_ownerreport"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("notifications", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
