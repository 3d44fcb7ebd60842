from django.db import migrations

from core.roles import PLS_OWNER, grant


def grant_chat_identities(apps, schema_editor):
    # The owner sees who is linked and unlinks (delete); linking is each person's own act.
    grant(
        apps,
        {PLS_OWNER: ["notifications.view_chatidentity", "notifications.delete_chatidentity"]},
    )


class Migration(migrations.Migration):
    dependencies = [('notifications', '0007_chat_interactions_and_deep_links')]

    operations = [migrations.RunPython(grant_chat_identities, migrations.RunPython.noop)]
