"""The full-text index behind lesson search, on PostgreSQL only.

The expression is the one ``learning.search.search_vector()`` builds; a query can use the
index only while the two are the same (tests/learning/test_search.py reads the plan). The
embedded SQLite has no full-text index and searches with a plain substring match instead.
"""

from django.db import migrations

INDEX = "learning_update_search"


def _index():
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector

    return GinIndex(SearchVector("lesson", "fix", config="english"), name=INDEX)


def add_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    model = apps.get_model("learning", "LearningMemoryUpdate")
    schema_editor.add_index(model, _index())


def remove_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    model = apps.get_model("learning", "LearningMemoryUpdate")
    schema_editor.remove_index(model, _index())


class Migration(migrations.Migration):
    dependencies = [("learning", "0002_roles")]

    operations = [migrations.RunPython(add_search_index, remove_search_index)]
