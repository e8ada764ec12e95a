"""A GIN index on ``tags`` on PostgreSQL, which serves the ``has_tag`` lookup (``@>``).

SQLite has no such index (its ``has_tag`` reads ``json_each``), so the index is created only
where the database is PostgreSQL; the model declares no index for it for the same reason.
"""

from django.db import migrations

INDEX = "session_tags_gin_idx"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON sessions_app_trainingsession "
            "USING gin (tags jsonb_path_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0007_trainingsession_archive_indexes")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
