"""A channel's URL, token and legacy signing secret sealed at rest (core.secrets), as its
signing and interaction secrets already were: the columns become text, then each value stored
in clear is sealed under the first of PLS_SECRET_ENCRYPTION_KEYS. Backwards, they are opened
again (with every key they were sealed under still configured)."""

import core.secrets
from django.db import migrations

COLUMNS = ("url", "token", "signing_secret")


def _rewrite(apps, schema_editor, change):
    connection = schema_editor.connection
    table = connection.ops.quote_name(apps.get_model("notifications", "Channel")._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(name) for name in COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {columns} FROM {table}")
        rows = cursor.fetchall()
        for pk, *values in rows:
            changed = [change(value) if value else value for value in values]
            if changed != values:
                assignments = ", ".join(
                    f"{connection.ops.quote_name(name)} = %s" for name in COLUMNS
                )
                cursor.execute(f"UPDATE {table} SET {assignments} WHERE id = %s", [*changed, pk])


def _sealed(value):
    try:
        core.secrets.unseal(value)
    except core.secrets.SecretUnreadable:
        return core.secrets.seal(value)
    return value  # sealed already


def seal_in_clear(apps, schema_editor):
    _rewrite(apps, schema_editor, _sealed)


def open_sealed(apps, schema_editor):
    _rewrite(apps, schema_editor, core.secrets.unseal)


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0011_field_names_for_translation'),
    ]

    operations = [
        migrations.AlterField(
            model_name='channel',
            name='interaction_secret',
            field=core.secrets.SealedField(blank=True, editable=False, verbose_name='interaction secret'),
        ),
        migrations.AlterField(
            model_name='channel',
            name='signing_secret',
            field=core.secrets.SealedField(blank=True, help_text='Generic webhook with the legacy signature only: its HMAC-SHA256 key.', max_length=200, verbose_name='signing secret'),
        ),
        migrations.AlterField(
            model_name='channel',
            name='token',
            field=core.secrets.SealedField(blank=True, help_text='Telegram bot token or LINE channel access token.', max_length=500, verbose_name='token'),
        ),
        migrations.AlterField(
            model_name='channel',
            name='url',
            field=core.secrets.SealedField(blank=True, help_text='Discord / Slack / generic webhook URL (secret).', max_length=500, verbose_name='URL'),
        ),
        migrations.AlterField(
            model_name='channel',
            name='webhook_secret',
            field=core.secrets.SealedField(blank=True, editable=False),
        ),
        migrations.AlterField(
            model_name='channel',
            name='webhook_secret_previous',
            field=core.secrets.SealedField(blank=True, editable=False),
        ),
        migrations.RunPython(seal_in_clear, open_sealed),
    ]
