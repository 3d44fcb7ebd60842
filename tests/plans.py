"""Reading PostgreSQL's plan for a query, to show an index answers it."""

from django.db import connection, transaction
from django.db.models import QuerySet


def plan_without_seq_scans(query: QuerySet) -> str:
    """``EXPLAIN`` of ``query`` with sequential scans forbidden. A test table of a few rows
    would be scanned anyway; forbidding that shows whether an index can answer, i.e. whether
    the query's expression is still the indexed one."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        return query.explain()
