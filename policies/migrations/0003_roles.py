from django.db import migrations

from core.roles import OPS_VIEWER, PLS_OWNER, RISK_REVIEWER, WORKER, grant

READ = ["policies.view_workerpolicy", "policies.view_proposal", "policies.view_policydecision"]


def grant_roles(apps, schema_editor):
    grant(
        apps,
        {
            # Workers read the policy they are judged by, nothing more.
            WORKER: ["policies.view_workerpolicy"],
            PLS_OWNER: [
                *READ,
                "policies.change_workerpolicy",
                "policies.simulate_workerpolicy",
                "policies.change_proposal",
            ],
            RISK_REVIEWER: [*READ, "policies.simulate_workerpolicy", "policies.change_proposal"],
            OPS_VIEWER: [*READ, "policies.simulate_workerpolicy"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("repairs", "0002_roles"),
        ("policies", "0002_interim_policy_and_questions"),
    ]

    operations = [migrations.RunPython(grant_roles, migrations.RunPython.noop)]
