"""Searching lessons, in English and in Chinese, on PostgreSQL and on SQLite.

A lesson matches when every word of the query (split on spaces) appears in its lesson or its
fix as a substring, ignoring case. That is what finds a Chinese word: Chinese is written
without spaces, so "修復" sits inside a longer run of characters that no word-based index
sees as a word.

On PostgreSQL a lesson also matches English full-text search: ``to_tsvector('english', lesson
|| ' ' || fix) @@ websearch_to_tsquery('english', q)``, answered by the GIN index of migration
0003 (stemming lets "retrying" find "retry"; quotes and ``-word`` work). The substrings are
answered by the pg_trgm GIN indexes of migration 0004 on ``UPPER(lesson)`` and
``UPPER(fix)``, the expression ``icontains`` compares. Migrations spell both expressions out
(they stay frozen), and tests read the query plan to be sure they still match.

A trigram is three characters, so a word of one or two characters ("修復") gives the
trigram index nothing to look up: PostgreSQL then reads the table (or the whole index), and
the answer is still right, only not indexed. Words of three characters or more ("自修復",
"重試一次") are answered by the index.

On SQLite there is no index: the same substring match reads the table.
"""

from django.db import connection
from django.db.models import Q, QuerySet

# The text-search configuration of the index. Changing it means a new index migration: a
# query in another configuration is a different expression and cannot use the index.
SEARCH_CONFIG = "english"
SEARCH_INDEX = "learning_update_search"
# The trigram indexes (migration 0004), on UPPER(lesson) and UPPER(fix).
TRIGRAM_INDEXES = ("learning_lesson_trgm", "learning_fix_trgm")


def search_vector():  # -> django.contrib.postgres.search.SearchVector
    """The indexed expression (imported lazily: SQLite never needs the PostgreSQL module)."""
    from django.contrib.postgres.search import SearchVector

    return SearchVector("lesson", "fix", config=SEARCH_CONFIG)


def lessons_matching(records: QuerySet, q: str) -> QuerySet:
    """``records`` narrowed to those whose lesson or fix matches the search text ``q``."""
    q = q.strip()
    if not q:
        return records
    every_word = Q()
    for word in q.split():
        every_word &= Q(lesson__icontains=word) | Q(fix__icontains=word)
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery

        query = SearchQuery(q, config=SEARCH_CONFIG, search_type="websearch")
        return records.annotate(search=search_vector()).filter(Q(search=query) | every_word)
    return records.filter(every_word)
