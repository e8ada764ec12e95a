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


def session_key(related_name: str) -> models.ForeignKey:
    return models.ForeignKey(
        db_index=False,
        on_delete=django.db.models.deletion.CASCADE,
        related_name=related_name,
        to="sessions_app.trainingsession",
    )


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
                migrations.AlterField("roomcall", "session", session_key("room_calls")),
                migrations.AlterField(
                    "roomparticipant", "session", session_key("room_participants")
                ),
                migrations.AlterField("sessionattendance", "session", session_key("attendance")),
                migrations.AlterField(
                    "sessionattendance",
                    "user",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="attendance",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField("sessionemail", "session", session_key("emails")),
                migrations.AlterField(
                    "sessionregistration", "session", session_key("registrations")
                ),
                migrations.AlterField(
                    "trainingsession",
                    "event",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="training_sessions",
                        to="events_app.event",
                    ),
                ),
                migrations.AlterField(
                    "trainingsession",
                    "instructor",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="training_sessions",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
    ]
