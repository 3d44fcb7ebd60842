"""Trigram indexes behind searching lessons for a word in any language, on PostgreSQL only.

English full-text search (0003) cannot find a Chinese word inside a lesson: Chinese has no
spaces, so a whole run of characters is one "word". A substring match can, and pg_trgm's GIN
indexes answer it: one per column, on ``UPPER(column)``, the expression Django's
``icontains`` compares (``learning.search.TRIGRAM_INDEXES``; tests/learning read the plan).
pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it. It
splits Chinese into trigrams only in a UTF8 database whose LC_CTYPE knows the characters
(C.UTF-8, zh_TW.UTF-8, en_US.UTF-8; not plain C).
"""

from django.db import migrations

LESSON_INDEX = "learning_lesson_trgm"
FIX_INDEX = "learning_fix_trgm"


COLUMNS = (("lesson", LESSON_INDEX), ("fix", FIX_INDEX))


def add_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column, name in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX {name} ON learning_memory_updates "
            f"USING gin ((UPPER({column})) gin_trgm_ops)"
        )


def remove_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _column, name in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    # The extension stays: other database objects may use it by then.


class Migration(migrations.Migration):
    dependencies = [("learning", "0003_search_index")]

    operations = [migrations.RunPython(add_trigram_indexes, remove_trigram_indexes)]
