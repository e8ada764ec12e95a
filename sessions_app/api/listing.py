"""The session lists' rows, built straight from the database's values.

``SessionSerializer`` describes a session (the OpenAPI schema, the detail and every write
answer); a page of a hundred sessions through it cost more than everything else in the
request: a model instance per row, its instructor and event, some fifteen timestamps
parsed per row where eight are shown, and DRF's field-by-field walk. The lists read only
the columns the answer shows (``COLUMNS``, one query with the per-row counts of
``sessions_app.api.queries``) and write each row here, in the serializer's field order
and formats. ``tests/api/test_session_list_rows.py`` holds the two to the same JSON, row
by row, for every status, null field, role and ``can_join`` answer.

``can_join`` is still the service's (``sessions_app.services.can_join``), asked once per
row with the values read.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.db import NotSupportedError
from django.db.models import Func, QuerySet, TextField

from sessions_app.api.queries import annotate_sessions
from sessions_app.models import TrainingSession
from sessions_app.services import can_join
from wwmaa.models import display_name_of


class UTCText(Func):
    """A timestamp column as ISO 8601 text in UTC, without an offset.

    Read this way, PostgreSQL's timestamps skip the ``timestamptz`` loader Django installs
    for psycopg 3, which parses in pure Python (Django ticket #36960): on a page of a
    hundred sessions it cost more than the query itself. SQLite stores this text already.
    """

    arity = 1
    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            template="to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')",
            **extra_context,
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler, connection, template="CAST(%(expressions)s AS text)", **extra_context
        )

    def as_sql(self, compiler, connection, **extra_context):
        raise NotSupportedError(f"UTCText is not implemented for {connection.vendor}.")


TIMESTAMPS = frozenset(
    {
        "start_time",
        "end_time",
        "started_at",
        "ended_at",
        "canceled_at",
        "archived_at",
        "created_at",
        "updated_at",
    }
)
# What the answer shows, and what can_join reads, in the order the rows unpack them.
COLUMNS = (
    "id",
    "title",
    "description",
    "event_id",
    "event__title",
    "instructor_id",
    "instructor__first_name",
    "instructor__last_name",
    "instructor__username",
    "start_time",
    "duration_minutes",
    "end_time",
    "capacity",
    "status",
    "started_at",
    "ended_at",
    "canceled_at",
    "end_reason",
    "room_status",
    "recording_enabled",
    "recording_status",
    "chat_enabled",
    "is_public",
    "members_only",
    "tags",
    "archived_at",
    "created_at",
    "updated_at",
    "seats_taken",
    "caller_holds_seat",
    "caller_registered",
)


class SessionRow:
    """The fields of a session ``can_join`` reads, without a model instance.

    The join windows are the model's own properties, so the rule about when people may
    come in stays on ``TrainingSession``.
    """

    __slots__ = (
        "capacity",
        "end_time",
        "instructor_id",
        "is_public",
        "members_only",
        "pk",
        "room_status",
        "start_time",
        "status",
    )

    join_window_opens_at = TrainingSession.join_window_opens_at
    host_window_opens_at = TrainingSession.host_window_opens_at


def iso_text(text: str | None) -> str | None:
    """A ``UTCText`` value as ``UTCDateTimeField`` writes the instant: ISO 8601, ``Z``."""
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    if value.tzinfo is not None:  # never from UTCText; still, say the same instant in UTC
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat() + "Z"


def utc_iso(value: datetime | None) -> str | None:
    """An aware instant as ``UTCDateTimeField`` writes it: ISO 8601 in UTC, ``Z``."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _all_text(values: list | None) -> bool:
    return values is not None and all(type(value) is str for value in values)


def _as_text(values: list | None) -> list | None:
    # As the serializer's ListField of CharField writes a list that holds other values.
    return None if values is None else [None if v is None else str(v) for v in values]


def session_values(queryset: QuerySet[TrainingSession], user) -> QuerySet:
    """The rows ``represent`` writes: ``queryset`` with the per-row counts, read as values."""
    return annotate_sessions(queryset, user).values_list(
        *(UTCText(name) if name in TIMESTAMPS else name for name in COLUMNS)
    )


def represent(rows: Iterable[tuple], user, now: datetime) -> list[dict[str, Any]]:
    """The JSON of ``SessionSerializer`` for rows of ``session_values``, seen by ``user``."""
    return [_represent(row, user, now) for row in rows]


def _represent(row: tuple, user, now: datetime) -> dict[str, Any]:
    (
        pk,
        title,
        description,
        event_id,
        event_title,
        instructor_id,
        first_name,
        last_name,
        username,
        start_time,
        duration_minutes,
        end_time,
        capacity,
        status,
        started_at,
        ended_at,
        canceled_at,
        end_reason,
        room_status,
        recording_enabled,
        recording_status,
        chat_enabled,
        is_public,
        members_only,
        tags,
        archived_at,
        created_at,
        updated_at,
        seats_taken,
        caller_holds_seat,
        caller_registered,
    ) = row
    # Never null: parsed once, for can_join and for the answer.
    start, end = datetime.fromisoformat(start_time), datetime.fromisoformat(end_time)
    session = SessionRow()
    session.pk = pk
    session.instructor_id = instructor_id
    session.start_time = start.replace(tzinfo=UTC)
    session.end_time = end.replace(tzinfo=UTC)
    session.capacity = capacity
    session.status = status
    session.room_status = room_status
    session.is_public = is_public
    session.members_only = members_only
    decision = can_join(
        session, user, now=now, taken=seats_taken, user_holds_seat=caller_holds_seat
    )
    return {
        "id": str(pk),
        "title": title,
        "description": description,
        "event": None if event_id is None else {"id": str(event_id), "title": event_title},
        "instructor": {
            "id": instructor_id,
            "name": display_name_of(first_name, last_name, username),
        },
        "start_time": utc_iso(session.start_time),
        "duration_minutes": duration_minutes,
        "end_time": utc_iso(session.end_time),
        "capacity": capacity,
        "seats_left": None if capacity is None else max(capacity - seats_taken, 0),
        "status": status,
        "started_at": iso_text(started_at),
        "ended_at": iso_text(ended_at),
        "canceled_at": iso_text(canceled_at),
        "end_reason": end_reason,
        "room_status": room_status,
        "recording_enabled": recording_enabled,
        "recording_status": recording_status,
        "chat_enabled": chat_enabled,
        "is_public": is_public,
        "members_only": members_only,
        "tags": tags if _all_text(tags) else _as_text(tags),
        "archived_at": iso_text(archived_at),
        "created_at": iso_text(created_at),
        "updated_at": iso_text(updated_at),
        "can_join": {
            "can_join": decision.can_join,
            "reason": decision.reason,
            "message": decision.message,
            "opens_at": utc_iso(decision.opens_at),
            "seats_left": decision.seats_left,
        },
        "registered": bool(caller_registered),
    }
