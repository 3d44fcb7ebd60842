"""Searching repair events by a word of their message, error class or job, in any language.

An event matches when every word of the query (split on spaces) is a substring of its error
class, its job reference or its message, ignoring case, or is its fingerprint. A substring is
what finds a Chinese word: Chinese is written without spaces, so "自修復" sits inside a longer
run of characters that no word-based index sees as a word.

The three columns are searched as one text, ``UPPER(error_class || ' ' || job_ref || ' ' ||
message)`` (``_Searched``), which on PostgreSQL one pg_trgm GIN index answers
(``SEARCH_INDEX``, migration 0016 spells the expression out; tests/repairs read the plan). One
index and not one per column: the events table is the one every worker writes to, and each
index is paid for on every report. A fingerprint is looked up whole, by the btree index ingest
already keeps; a trigram index over 64 hex characters would triple the index for a lookup
nobody does by a fragment.

A trigram is three characters, so a word of one or two characters ("修復") gives the index
nothing to look up: PostgreSQL then reads the table, and the answer is still right, only not
indexed. On SQLite there is no index: the same match reads the table.
"""

from django.db.models import F, Func, Q, QuerySet, TextField

SEARCH_INDEX = "repair_event_text_trgm"
# The searched text's columns, in the order the index joins them.
SEARCHED_COLUMNS = ("error_class", "job_ref", "message")


class _Searched(Func):
    """``UPPER(error_class || ' ' || job_ref || ' ' || message)``: the indexed expression,
    written as the index writes it so PostgreSQL's planner matches the two."""

    template = "UPPER(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = TextField()


def events_matching(events: QuerySet, q: str) -> QuerySet:
    """``events`` narrowed to those that match the search text ``q``."""
    words = q.split()
    if not words:
        return events
    every_word = Q()
    for word in words:
        every_word &= Q(searched__contains=word.upper()) | Q(fingerprint=word.lower())
    searched = _Searched(*(F(column) for column in SEARCHED_COLUMNS))
    return events.alias(searched=searched).filter(every_word)
