from django.db import migrations, models


def name_what_was_approved(apps, schema_editor):
    """A request opened before this field named only its target, and that is what its
    approver read: its resources are the target alone. A release or reclaim whose event's
    job differs from it (the decoy of issue 12) is then not carried out on that job."""
    SelfHealRequest = apps.get_model("repairs", "SelfHealRequest")
    for request in SelfHealRequest.objects.exclude(target="").only("pk", "target").iterator():
        SelfHealRequest.objects.filter(pk=request.pk).update(resources=[request.target])


class Migration(migrations.Migration):
    dependencies = [
        ("repairs", "0006_job_roles"),
    ]

    operations = [
        migrations.AddField(
            model_name="selfhealrequest",
            name="resources",
            field=models.JSONField(
                blank=True, default=list, help_text="Every resource the action touches"
            ),
        ),
        migrations.RunPython(name_what_was_approved, migrations.RunPython.noop),
    ]
