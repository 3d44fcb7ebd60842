from django.db import migrations

from core.roles import OPS_VIEWER, PLS_OWNER, RISK_REVIEWER, WORKER, grant


def grant_roles(apps, schema_editor):
    grant(
        apps,
        {
            WORKER: ["artifacts.add_artifactgatecheck", "artifacts.view_artifactgatecheck"],
            PLS_OWNER: ["artifacts.view_artifactgatecheck"],
            RISK_REVIEWER: ["artifacts.view_artifactgatecheck"],
            OPS_VIEWER: ["artifacts.view_artifactgatecheck"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [("artifacts", "0001_initial"), ("repairs", "0002_roles")]

    operations = [migrations.RunPython(grant_roles, migrations.RunPython.noop)]
