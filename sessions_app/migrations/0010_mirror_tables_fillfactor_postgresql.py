"""Room on every page for updates in place, on PostgreSQL, for the mirror's two tables,
whose rows are updated a whole batch at a time without touching an indexed column: an
outbox entry is claimed (``claimed_by``) before it is delivered, and a row map is leased
and released (``lease_token``, ``lease_until``, ``row_id``) at every delivery of its row.

With full pages (the default fill factor of 100) such an update writes the new row version
to another page and a new entry into every index of the table; with free space on the page
PostgreSQL writes a heap-only tuple (HOT) instead and the indexes are left alone. Measured
on a drain of 300 rows a round: heap-only updates went from 15 % to 43 % of the outbox's
and from 3 % to 59 % of the maps' (BENCHMARKS.md). Attendance rows, updated one at a time
by heartbeats, were heap-only 99.5 % of the time already. The setting applies to pages
written from now on. SQLite has no such setting.
"""

from django.db import migrations

FILL_FACTOR = 70
TABLES = ("sessions_app_outboxentry", "sessions_app_rowmapping")


def leave_room(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {FILL_FACTOR})")


def fill_pages(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0009_fk_indexes_covered_by_composites")]

    operations = [migrations.RunPython(leave_room, fill_pages, elidable=False)]
