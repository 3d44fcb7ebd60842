"""A trigram index behind searching repair events for a word in any language, on PostgreSQL
only (``repairs.search``; tests/repairs read the plan).

It is built ``CONCURRENTLY``, so a console with millions of events keeps taking reports while
it builds: the migration runs outside a transaction, and a build that failed half-way (an
invalid index) is dropped and built again. pg_trgm is a trusted extension (PostgreSQL 13+);
learning's 0004 creates it too, whichever runs first.
"""

from django.db import migrations

INDEX = "repair_event_text_trgm"


def add_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY {INDEX} ON worker_repair_events USING gin "
        "((UPPER(error_class || ' ' || job_ref || ' ' || message)) gin_trgm_ops)"
    )


def remove_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("repairs", "0015_model_names_for_translation")]

    operations = [migrations.RunPython(add_search_index, remove_search_index)]
