from django.db import migrations

from core.roles import OPS_VIEWER, PLS_OWNER, RISK_REVIEWER, WORKER, grant

READ_ALL = [
    "repairs.view_worker",
    "repairs.view_workertoken",
    "repairs.view_job",
    "repairs.view_repairevent",
]


def create_roles(apps, schema_editor):
    grant(
        apps,
        {
            WORKER: ["repairs.add_repairevent", "repairs.view_repairevent", "repairs.view_job"],
            PLS_OWNER: [
                *READ_ALL,
                "repairs.add_worker",
                "repairs.change_worker",
                "repairs.change_workertoken",
                "repairs.add_job",
                "repairs.change_job",
            ],
            RISK_REVIEWER: READ_ALL,
            OPS_VIEWER: READ_ALL,
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("repairs", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
