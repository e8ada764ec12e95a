# The foreign keys below each had an index of their own, which a composite index or a
# unique constraint already leads with: every write paid for an index no query needs.
#
# Only the indexes are dropped. Django's AlterField would also drop and re-add each
# foreign key constraint, which on PostgreSQL checks every row of the table again under a
# lock that blocks writes; the constraints do not change, so the database side is plain
# DROP INDEX (the names Django gave them with their tables) and the model state
# is altered separately.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (table, column, the hash in the name Django gave the column's index with the table)
COVERED = [
    ("sessions_app_roomcall", "session_id", "6201872f"),
    ("sessions_app_roomparticipant", "session_id", "50cf9db5"),
    ("sessions_app_sessionattendance", "session_id", "49ca04d8"),
    ("sessions_app_sessionattendance", "user_id", "c45531c4"),
    ("sessions_app_sessionemail", "session_id", "d2d838cd"),
    ("sessions_app_sessionregistration", "session_id", "69c060f4"),
    ("sessions_app_trainingsession", "event_id", "f5bb2551"),
    ("sessions_app_trainingsession", "instructor_id", "e05f2950"),
]


def drop_index(table: str, column: str, suffix: str) -> migrations.RunSQL:
    name = f"{table}_{column}_{suffix}"
    return migrations.RunSQL(
        f'DROP INDEX IF EXISTS "{name}"',
        reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")',
    )


def unindexed_key(
    to: str, related_name: str, on_delete=django.db.models.deletion.CASCADE, **options
) -> models.ForeignKey:
    """The foreign key as the models declare it now: without an index of its own."""
    return models.ForeignKey(
        to=to, related_name=related_name, on_delete=on_delete, db_index=False, **options
    )


SESSION = "sessions_app.trainingsession"
PROTECT = django.db.models.deletion.PROTECT


class Migration(migrations.Migration):
    dependencies = [
        ("events_app", "0001_initial"),
        ("sessions_app", "0008_tags_gin_index_postgresql"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[drop_index(*covered) for covered in COVERED],
            state_operations=[
                migrations.AlterField("roomcall", "session", unindexed_key(SESSION, "room_calls")),
                migrations.AlterField(
                    "roomparticipant", "session", unindexed_key(SESSION, "room_participants")
                ),
                migrations.AlterField(
                    "sessionattendance", "session", unindexed_key(SESSION, "attendance")
                ),
                migrations.AlterField(
                    "sessionattendance",
                    "user",
                    unindexed_key(settings.AUTH_USER_MODEL, "attendance"),
                ),
                migrations.AlterField("sessionemail", "session", unindexed_key(SESSION, "emails")),
                migrations.AlterField(
                    "sessionregistration", "session", unindexed_key(SESSION, "registrations")
                ),
                migrations.AlterField(
                    "trainingsession",
                    "event",
                    unindexed_key(
                        "events_app.event", "training_sessions", PROTECT, blank=True, null=True
                    ),
                ),
                migrations.AlterField(
                    "trainingsession",
                    "instructor",
                    unindexed_key(settings.AUTH_USER_MODEL, "training_sessions", PROTECT),
                ),
            ],
        ),
    ]
