from django.db import migrations

from core.roles import OPS_VIEWER, PLS_OWNER, RISK_REVIEWER, grant


def grant_roles(apps, schema_editor):
    grant(
        apps,
        {
            # Every human role reads the scorecard; workers do not: it shows the whole fleet
            # (other workers' names, budgets and failures), and a worker sees only its own
            # records.
            PLS_OWNER: [
                "dashboards.view_scorecard",
                # The console's login lockouts (django-axes): the owner sees who was locked
                # out and unlocks early by deleting the attempt.
                "axes.view_accessattempt",
                "axes.delete_accessattempt",
                "axes.view_accesslog",
                "axes.view_accessfailurelog",
            ],
            RISK_REVIEWER: ["dashboards.view_scorecard"],
            OPS_VIEWER: ["dashboards.view_scorecard"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("dashboards", "0001_initial"),
        ("repairs", "0002_roles"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(grant_roles, migrations.RunPython.noop)]
