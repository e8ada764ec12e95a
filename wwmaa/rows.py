"""Model instances from rows a hot path reads with its own SQL.

A few reads run on every request of the busiest endpoints (the caller's account behind a
JWT, the session a join decides on). Building and compiling their ORM query cost about
twice what the database took to answer it, and ``raw()`` still resolves its columns on
every call. ``ModelRows`` works the model's columns and their converters out once per
database, so a read is one ``execute`` and one ``Model.from_db``: the same instance the
ORM would build, with the same conversions (SQLite's text timestamps, UUIDs, …).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Generic, TypeVar

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

M = TypeVar("M", bound=Model)


class ModelRows(Generic[M]):
    """The columns of ``model`` as SQL, and instances built from rows that start with them."""

    def __init__(self, model: type[M], connection: BaseDatabaseWrapper) -> None:
        self.model = model
        self.using = connection.alias
        quote = connection.ops.quote_name
        self.table = quote(model._meta.db_table)
        fields = model._meta.concrete_fields
        # Every column of the model, as an ORM read without ``only()`` would ask for them.
        self.columns = ", ".join(f"{self.table}.{quote(field.column)}" for field in fields)
        self.attnames = [field.attname for field in fields]
        self._converters = []
        for index, field in enumerate(fields):
            column = field.get_col(model._meta.db_table)
            found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
            if found:
                self._converters.append((index, column, found))
        self.connection = connection

    def instance(self, row: Sequence) -> M:
        """The model instance for ``row``, whose first values are ``self.columns``."""
        values = list(row[: len(self.attnames)])
        for index, column, converters in self._converters:
            value = values[index]
            for converter in converters:
                value = converter(value, column, self.connection)
            values[index] = value
        return self.model.from_db(self.using, self.attnames, values)

    def get(self, value, *, field: str = "pk", for_update: bool = False) -> M | None:
        """The row whose ``field`` equals ``value``, or None; ``for_update`` locks it (on
        databases that lock rows) until the transaction ends, as ``select_for_update``.

        A ``value`` the field cannot take raises ``ValidationError``, as the ORM does.
        """
        model_field = self.model._meta.pk if field == "pk" else self.model._meta.get_field(field)
        column = f"{self.table}.{self.connection.ops.quote_name(model_field.column)}"
        sql = f"SELECT {self.columns} FROM {self.table} WHERE {column} = %s"  # noqa: S608
        if for_update and self.connection.features.has_select_for_update:
            sql += " FOR UPDATE"
        with self.connection.cursor() as cursor:
            cursor.execute(sql, [self.sql_value(model_field.name, value)])
            row = cursor.fetchone()
        return None if row is None else self.instance(row)

    def sql_value(self, field_name: str, value):
        """``value`` of ``field_name`` as the database takes it as a parameter."""
        field = self.model._meta.get_field(field_name)
        value = field.to_python(value)
        # Out of the column's range is a ValidationError here, as the ORM finds no row for
        # it, rather than the database's error.
        field.run_validators(value)
        return field.get_db_prep_value(value, self.connection)


def model_rows(model: type[M], using: str) -> ModelRows[M]:
    """The ``ModelRows`` of ``model`` on database ``using``, worked out once per connection.

    Per connection, not per alias: the converters are the connection's own methods, and
    each thread has its own connection.
    """
    return _model_rows(model, connections[using])


@functools.lru_cache(maxsize=256)
def _model_rows(model: type[M], connection: BaseDatabaseWrapper) -> ModelRows[M]:
    return ModelRows(model, connection)
