"""The mirror's tables leave room on each page for updates in place (PostgreSQL only).

Migration 0010 sets the fill factor; a batch's claim and settle then mostly write
heap-only tuples instead of new entries in every index (BENCHMARKS.md, P6).
"""

from __future__ import annotations

import pytest
from django.db import connection

from sessions_app.storage.models import OutboxEntry, RowMapping
from tests.conftest import on_postgresql

pytestmark = [pytest.mark.django_db, on_postgresql]


@pytest.mark.parametrize("model", [OutboxEntry, RowMapping], ids=lambda m: m.__name__)
def test_the_mirror_tables_keep_room_for_updates_in_place(model):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reloptions FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table]
        )
        (options,) = cursor.fetchone()

    assert options == ["fillfactor=70"]
