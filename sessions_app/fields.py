"""A JSON list of tags that can be filtered on SQLite and PostgreSQL alike.

Django's ``contains`` lookup on JSONField is not supported by SQLite, so the ``has_tag``
lookup here compiles to each database's own way of asking "is this string an element of
the array": ``@>`` on PostgreSQL (served by a GIN index, made by a PostgreSQL-only
migration) and ``json_each`` on SQLite.
"""

from __future__ import annotations

import json

from django.db import NotSupportedError, models


class TagListField(models.JSONField):
    """A JSON array of short strings."""


@TagListField.register_lookup
class HasTag(models.Lookup):
    lookup_name = "has_tag"

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} @> %s::jsonb", [*lhs_params, json.dumps([self.rhs])]

    def as_sqlite(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        # lhs is the compiled column reference, never user input; the tag is a parameter.
        sql = f"EXISTS (SELECT 1 FROM json_each({lhs}) WHERE json_each.value = %s)"  # noqa: S608
        return sql, [*lhs_params, self.rhs]

    def as_sql(self, compiler, connection):
        raise NotSupportedError(f"has_tag is not implemented for {connection.vendor}.")
