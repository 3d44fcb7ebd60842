from django.db import migrations

from core.roles import OPS_VIEWER, PLS_OWNER, RISK_REVIEWER, WORKER, grant

REVIEW = [
    "learning.view_learningmemoryupdate",
    "learning.change_learningmemoryupdate",
    "learning.view_promptpackexport",
    "learning.add_promptpackexport",
]


def grant_roles(apps, schema_editor):
    # Workers report lessons and read their team's prompt pack; the owner and the risk
    # reviewer accept, edit or retire lessons (DESIGN §2, worker_learning).
    grant(
        apps,
        {
            WORKER: [
                "learning.add_learningmemoryupdate",
                "learning.view_learningmemoryupdate",
                "learning.add_promptpackexport",
            ],
            PLS_OWNER: REVIEW,
            RISK_REVIEWER: REVIEW,
            OPS_VIEWER: ["learning.view_learningmemoryupdate", "learning.view_promptpackexport"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [("learning", "0001_initial"), ("repairs", "0002_roles")]

    operations = [migrations.RunPython(grant_roles, migrations.RunPython.noop)]
