from django.db import migrations

from core.roles import OPS_VIEWER, PLS_OWNER, RISK_REVIEWER, WORKER, grant


def grant_roles(apps, schema_editor):
    # Deciding is further limited to the role the policy's approval matrix names, and never
    # the requester; ``change`` is the right to try.
    grant(
        apps,
        {
            WORKER: ["repairs.view_selfhealrequest"],
            PLS_OWNER: ["repairs.view_selfhealrequest", "repairs.change_selfhealrequest"],
            RISK_REVIEWER: ["repairs.view_selfhealrequest", "repairs.change_selfhealrequest"],
            OPS_VIEWER: ["repairs.view_selfhealrequest"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [("repairs", "0003_self_heal_requests_and_verdicts")]

    operations = [migrations.RunPython(grant_roles, migrations.RunPython.noop)]
