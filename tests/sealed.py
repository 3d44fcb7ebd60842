"""What a row's columns hold in the database, past the model's fields (a ``SealedField``
reads in clear): to show that a secret is stored sealed."""

from django.db import connection
from django.db.models import Model


def stored_row(row: Model, *columns: str) -> str:
    """The ``columns`` of ``row`` (every one by default) as stored, as one text."""
    table = connection.ops.quote_name(row._meta.db_table)
    read = ", ".join(connection.ops.quote_name(name) for name in columns) or "*"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {read} FROM {table} WHERE id = %s", [row.pk])  # noqa: S608 - the model's table, the id a parameter
        return " ".join(str(value) for value in cursor.fetchone())
