"""Many rows of values as one table in a statement, with a few parameters on PostgreSQL.

``values_table`` gives a ``FROM`` item for hand-written bulk statements (``INSERT …
SELECT``, ``UPDATE … FROM``):

* PostgreSQL: ``unnest(%s::uuid[], %s::varchar(40)[]) AS v(a, b)``, one array
  parameter a column. Each parameter costs: with Django's default client-side binding
  psycopg quotes it in Python, about 3 µs apiece (a 200-row, 5-column ``VALUES`` list
  spent 3 ms binding alone), and with either binding PostgreSQL parses and plans it.
* SQLite: ``(SELECT column1 AS a, column2 AS b FROM (VALUES (%s, %s), …)) AS v``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Field


def values_table(
    connection,
    fields: Sequence[Field],
    rows: Sequence[Sequence[Any]],
    alias: str,
    names: Sequence[str],
) -> tuple[str, list[Any]]:
    """``rows`` (one value per field, prepared by its field) as a ``FROM`` item.

    ``names`` are the columns of ``alias``; they and ``alias`` are formatted into the SQL
    as they are, so they must be fixed names, never input. Needs at least one row.
    """
    if not rows:
        raise ValueError("values_table needs at least one row")
    columns = list(zip(*rows, strict=True))
    prepared = [
        [field.get_db_prep_save(value, connection) for value in column]
        for field, column in zip(fields, columns, strict=True)
    ]
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{field.cast_db_type(connection)}[]" for field in fields)
        return f"unnest({arrays}) AS {alias} ({', '.join(names)})", prepared
    placeholders = f"({', '.join(['%s'] * len(fields))})"
    selected = ", ".join(f"column{i} AS {name}" for i, name in enumerate(names, start=1))
    values = ", ".join([placeholders] * len(rows))
    params = [value for row in zip(*prepared, strict=True) for value in row]
    # Only the caller's fixed names and placeholders are formatted in.
    return f"(SELECT {selected} FROM (VALUES {values})) AS {alias}", params  # noqa: S608
