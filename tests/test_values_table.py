"""``values_table``: rows of values as one ``FROM`` item, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection

from sessions_app.storage.models import RowMapping
from wwmaa.values_table import values_table

pytestmark = pytest.mark.django_db

FIELDS = [RowMapping._meta.get_field(name) for name in ("object_id", "row_id", "needs_lookup")]


def select(rows):
    source, params = values_table(connection, FIELDS, rows, "v", ("o", "r", "n"))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT v.o, v.r, v.n FROM {source}", params)
        return cursor.fetchall()


def test_rows_come_back_as_given_nulls_included():
    first, second = uuid.uuid4(), uuid.uuid4()

    rows = select([(first, "row-1", True), (second, None, False)])

    read = [(uuid.UUID(str(o)), r, bool(n)) for o, r, n in rows]
    assert sorted(read, key=str) == sorted([(first, "row-1", True), (second, None, False)], key=str)


def test_a_single_row_and_text_needing_quotes():
    tricky = 'it\'s "quoted", {braced}, \\ and ,'

    ((_, r, _),) = select([(uuid.uuid4(), tricky, False)])

    assert r == tricky


def test_instants_keep_their_time():
    field = RowMapping._meta.get_field("lease_until")
    when = datetime(2026, 6, 1, 18, 0, 0, 5, tzinfo=UTC)
    source, params = values_table(connection, [field], [(when,)], "v", ("at",))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT v.at FROM {source}", params)
        (value,) = cursor.fetchone()

    if isinstance(value, str):  # SQLite: Django's text of the instant, in UTC
        value = datetime.fromisoformat(value).replace(tzinfo=UTC)
    assert value == when


def test_no_rows_is_refused():
    with pytest.raises(ValueError, match="at least one row"):
        values_table(connection, FIELDS, [], "v", ("o", "r", "n"))
