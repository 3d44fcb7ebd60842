"""Searching lessons: PostgreSQL full-text search over lesson and fix, a plain fallback elsewhere.

On PostgreSQL the query is ``to_tsvector('english', lesson || ' ' || fix) @@
websearch_to_tsquery('english', q)``, which the GIN index of migration 0003 answers. That
migration spells out the same expression (migrations stay frozen), and a test reads the
query plan to be sure the two still match. English stemming lets "retrying" find "retry".

On SQLite every word of the query must appear, as a substring, in the lesson or the fix.
"""

from django.db import connection
from django.db.models import Q, QuerySet

# The text-search configuration of the index. Changing it means a new index migration: a
# query in another configuration is a different expression and cannot use the index.
SEARCH_CONFIG = "english"
SEARCH_INDEX = "learning_update_search"


def search_vector():  # -> django.contrib.postgres.search.SearchVector
    """The indexed expression (imported lazily: SQLite never needs the PostgreSQL module)."""
    from django.contrib.postgres.search import SearchVector

    return SearchVector("lesson", "fix", config=SEARCH_CONFIG)


def lessons_matching(records: QuerySet, q: str) -> QuerySet:
    """``records`` narrowed to those whose lesson or fix matches the search text ``q``."""
    q = q.strip()
    if not q:
        return records
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery

        query = SearchQuery(q, config=SEARCH_CONFIG, search_type="websearch")
        return records.annotate(search=search_vector()).filter(search=query)
    for word in q.split():
        records = records.filter(Q(lesson__icontains=word) | Q(fix__icontains=word))
    return records
