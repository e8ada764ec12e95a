"""Model instances from rows a hot path reads with its own SQL.

A few reads run on every request of the busiest endpoints (the caller's account behind a
JWT, the session a join decides on). Building and compiling their ORM query cost about
twice what the database took to answer it, and ``raw()`` still resolves its columns on
every call. ``ModelRows`` works the model's columns and their converters out once per
database, so a read is one ``execute`` and one ``Model.from_db``: the same instance the
ORM would build, with the same conversions (SQLite's text timestamps, UUIDs, …).

``CompiledQuery`` does the same for a list: a ``values_list`` query compiled once per
connection, its per-request values (the caller, the event, …) given at each run as
placeholders.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Generic, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.query import ValuesListIterable

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


class Placeholder:
    """A value a ``CompiledQuery`` takes at each run: a ``RawSQL`` parameter, whose value
    ``rows`` is then given (field lookups would try to convert it, so not those)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<placeholder {self.name}>"


class CompiledQuery:
    """A ``values_list`` query's SQL, compiled once, run as often as needed.

    Building and compiling a list's query (computed columns, subqueries, joins) cost more
    than the database took to run it. ``rows`` gives what iterating the queryset would,
    converted by Django's own compiler, with each ``Placeholder`` among the parameters
    replaced by its value for this run.
    """

    def __init__(self, queryset: QuerySet) -> None:
        if queryset._iterable_class is not ValuesListIterable:
            raise TypeError("CompiledQuery takes a values_list() query giving tuples.")
        self.compiler = queryset.query.get_compiler(queryset.db)
        try:
            self.sql, self.params = self.compiler.as_sql()
        except EmptyResultSet:
            self.sql, self.params = None, ()

    def rows(self, values: Mapping[Placeholder, object] | None = None) -> list[tuple]:
        """The query's rows, each placeholder taking its value from ``values``."""
        if self.sql is None:
            return []
        values = values or {}
        params = [values[p] if isinstance(p, Placeholder) else p for p in self.params]
        compiler = self.compiler
        with compiler.connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        if compiler.has_extra_select:  # columns only the ordering asked for
            rows = [row[: compiler.col_count] for row in rows]
        return list(compiler.results_iter(results=[rows], tuple_expected=True))


def compiled_query(using: str, build: Callable[..., QuerySet], *args: Hashable) -> CompiledQuery:
    """``build(*args)``'s ``CompiledQuery`` on database ``using``, compiled once per
    connection and arguments.

    ``build`` must be a function of its arguments alone: whatever else would change its
    SQL (the caller, the time) goes in as a ``Placeholder``.
    """
    return _compiled_query(connections[using], build, args)


@functools.lru_cache(maxsize=256)
def _compiled_query(
    connection: BaseDatabaseWrapper, build: Callable[..., QuerySet], args: tuple
) -> CompiledQuery:
    queryset = build(*args)
    if queryset.db != connection.alias:
        raise ValueError(f"{build.__name__} read {queryset.db}, not {connection.alias}.")
    return CompiledQuery(queryset)
