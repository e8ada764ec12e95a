"""``field__any_of=[…]``: ``IN`` a list of values, bound as one array on PostgreSQL.

Django binds each value of an ``__in`` list as a parameter of its own, which psycopg
quotes in Python under client-side binding (about 3 µs apiece) and PostgreSQL parses and
plans under either binding; a query with a list of another length is another statement
to prepare. The outbox drain filters by lists of 200 ids several times a batch; there
``any_of`` writes ``column = ANY(%s::type[])``, one parameter, and every other database
gets ``__in``'s ``IN (…)``. Only for a list of plain values of a concrete,
non-relational field.
"""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db.models import Field
from django.db.models.lookups import In


@Field.register_lookup
class AnyOf(In):
    lookup_name = "any_of"

    def as_postgresql(self, compiler, connection):
        if not self.rhs_is_direct_value():
            return self.as_sql(compiler, connection)
        field = self.lhs.output_field
        # Prepared already, as ``__in`` prepares them (``get_prep_lookup``); None never
        # matches, as in ``__in``.
        values = [
            field.get_db_prep_value(value, connection, prepared=True)
            for value in self.rhs
            if value is not None
        ]
        if not values:
            raise EmptyResultSet
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s::{field.cast_db_type(connection)}[])", (*lhs_params, values)
