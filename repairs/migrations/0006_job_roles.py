from django.db import migrations

from core.roles import WORKER, grant


def grant_roles(apps, schema_editor):
    # Claiming, heartbeating, releasing and completing change a job's state, so workers
    # need ``change_job``; the API still lets a worker change only the jobs it holds (or a
    # stuck one, as the policy allows). Registering jobs (``add_job``) stays with the owner
    # and with any system token whose user is granted it.
    grant(apps, {WORKER: ["repairs.change_job"]})


class Migration(migrations.Migration):
    dependencies = [("repairs", "0005_leases_budgets_outcomes")]

    operations = [migrations.RunPython(grant_roles, migrations.RunPython.noop)]
