"""The session lists' rows, built straight from the database's values.

``SessionSerializer`` describes a session (the OpenAPI schema, the detail and every write
answer); a page of a hundred sessions through it cost more than everything else in the
request: a model instance per row, its instructor and event, some fifteen timestamps
parsed per row where eight are shown, and DRF's field-by-field walk. The lists read only
the columns the answer shows (``COLUMNS``, one query with the same per-row counts as
``sessions_app.api.queries``) and write each row here, in the serializer's field order
and formats. ``tests/api/test_session_list_rows.py`` holds the two to the same JSON, row
by row, for every status, null field, role and ``can_join`` answer.

The computed columns (timestamps as text, the per-row counts) are written out as SQL
once per database rather than built as ORM expressions for every request: resolving and
compiling three subqueries and eight functions per request cost more than the database
took to run the query.

``can_join`` is still the service's (``sessions_app.services.can_join``), asked once per
row with the values read and the caller's role worked out once for the list.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.db import NotSupportedError, connections
from django.db.models import BooleanField, IntegerField, QuerySet, TextField
from django.db.models.expressions import RawSQL

from sessions_app.models import SessionAttendance, SessionRegistration, TrainingSession
from sessions_app.services import can_join
from sessions_app.services.eligibility import Caller, JoinDecision, caller_id, seats_taken_sql
from wwmaa import roles
from wwmaa.models import display_name_of
from wwmaa.rows import Placeholder, compiled_query

# A timestamp column as ISO 8601 text in UTC, without an offset: the answer writes text,
# so most timestamps are never parsed (``iso_text`` rewrites them). Written when Django's
# pure-Python ``timestamptz`` loader (Django ticket #36960) cost more on a page of a
# hundred sessions than the query itself. ``wwmaa.postgresql`` now reads timestamps with
# psycopg's compiled loader; the text was kept, not measured again against instants.
# SQLite stores this text already (Django writes ``YYYY-MM-DD HH:MM:SS[.ffffff]`` in UTC).
UTC_TEXT = {
    "postgresql": "to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')",
    "sqlite": "CAST({column} AS text)",
}

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
    """A timestamp read as ``UTC_TEXT`` as ``UTCDateTimeField`` writes the instant.

    ISO 8601 with ``Z``, microseconds only when there are some (as ``isoformat`` does).
    Both databases' text is already that, but for the separator, PostgreSQL's always
    written microseconds and the missing ``Z``: rewritten as text, without parsing.
    """
    if text is None:
        return None
    if len(text) == 26:  # YYYY-MM-DD?HH:MM:SS.ffffff
        if text.endswith(".000000"):  # PostgreSQL's to_char writes them always
            text = text[:19]
    elif len(text) != 19:  # not the text of either database: say the instant in UTC
        return utc_iso(_parsed(text))
    return f"{text[:10]}T{text[11:]}Z"


def _parsed(text: str) -> datetime:
    """A timestamp read as text, as an aware instant (the text is UTC without an offset)."""
    if len(text) in (19, 26):
        # Parsed with its offset: a third of the cost of parsing, then replace(tzinfo=).
        return datetime.fromisoformat(text + "+00:00")
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def utc_iso(value: datetime | None) -> str | None:
    """An aware instant as ``UTCDateTimeField`` writes it: ISO 8601 in UTC, ``Z``."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat()[:-6] + "Z"  # without its "+00:00"


def decision_json(decision: JoinDecision) -> dict[str, Any]:
    """A ``can_join`` answer as ``CanJoinSerializer`` writes it (``can_join_data``)."""
    return {
        "can_join": decision.can_join,
        "reason": decision.reason,
        "message": decision.message,
        "opens_at": utc_iso(decision.opens_at),
        "seats_left": decision.seats_left,
    }


def _tags(text: str | None) -> list | None:
    """The tags column read as JSON text, as the serializer's ListField of CharField
    writes it (values that are not text, as text)."""
    if text is None:
        return None
    if text == "[]":
        return []
    values = json.loads(text)
    if values is None or all(type(value) is str for value in values):
        return values
    return [None if v is None else str(v) for v in values]


_UNREAD = object()  # a key not decoded yet (None is a value: no tags column)

_TEXT, _INTEGER, _BOOLEAN = TextField(), IntegerField(), BooleanField()


@functools.cache
def _computed_sql(alias: str) -> dict[str, str]:
    """The SQL of each column computed in the database ``alias``, by name.

    The per-row counts (also what ``sessions_app.api.queries.annotate_sessions`` adds):
    attendance rows of people other than the instructor, and whether the session is among
    those the caller holds a seat in, or registered for (the caller's id is their one
    parameter; ``NULL`` for a visitor matches no row). Those two read the caller's rows
    once per query (the database hashes them) rather than once per session: a sixth of
    the database's work for a page. The session's table is named by its own name, its
    alias in the list's query. Only quoted names from the models' meta are formatted in.
    """
    connection = connections[alias]
    if connection.vendor not in UTC_TEXT:
        raise NotSupportedError(f"The session lists are not written for {connection.vendor}.")
    quote = connection.ops.quote_name

    def column(model, name: str) -> str:
        opts = model._meta
        return f"{quote(opts.db_table)}.{quote(opts.get_field(name).column)}"

    def callers(model) -> str:
        return (
            f"{column(TrainingSession, 'id')} IN (SELECT {column(model, 'session')} "  # noqa: S608
            f"FROM {quote(model._meta.db_table)} WHERE {column(model, 'user')} = %s)"
        )

    sql = {
        name: UTC_TEXT[connection.vendor].format(column=column(TrainingSession, name))
        for name in TIMESTAMPS
    }
    # The JSON text itself, decoded by ``_tags`` (an empty list, most rows, without it).
    sql["tags"] = f"CAST({column(TrainingSession, 'tags')} AS text)"
    sql["seats_taken"] = seats_taken_sql(
        connection, column(TrainingSession, "id"), column(TrainingSession, "instructor")
    )
    sql["caller_holds_seat"] = callers(SessionAttendance)
    sql["caller_registered"] = callers(SessionRegistration)
    return sql


class _Computed(RawSQL):
    """A column of ``_computed_sql``, read as the driver gives it.

    Every one is text, a count or a boolean, which the drivers already give as Python
    values: Django's per-row conversion of an ``IntegerField`` expression (``int()`` of
    an int) is left out. A database's own converters stay (SQLite's 0/1 booleans).
    """

    convert_value = staticmethod(RawSQL._convert_value_noop)


def _computed(alias: str, name: str, params: tuple, output_field) -> RawSQL:
    # The SQL is _computed_sql's: quoted names from the models' meta, values as parameters.
    return _Computed(_computed_sql(alias)[name], params, output_field=output_field)


@functools.cache
def _text_columns(alias: str) -> dict[str, RawSQL]:
    # Without parameters, so shared by every request (each query resolves its own copy).
    return {name: _computed(alias, name, (), _TEXT) for name in (*TIMESTAMPS, "tags")}


def session_values(queryset: QuerySet[TrainingSession], user) -> QuerySet:
    """The rows ``represent`` writes: ``queryset`` with the per-row counts, read as values."""
    return _values(queryset, caller_id(user))


def counted_columns(alias: str, caller: int | Placeholder | None) -> dict[str, RawSQL]:
    """``seats_taken``, ``caller_holds_seat`` and ``caller_registered`` as SQL of
    ``_computed_sql``, for the caller whose id is ``caller`` (None: a visitor, who holds
    and registered nothing): the lists', and ``annotate_sessions``' for every other page."""
    return {
        "seats_taken": _computed(alias, "seats_taken", (), _INTEGER),
        "caller_holds_seat": _computed(alias, "caller_holds_seat", (caller,), _BOOLEAN),
        "caller_registered": _computed(alias, "caller_registered", (caller,), _BOOLEAN),
    }


def _values(queryset: QuerySet[TrainingSession], caller: int | Placeholder | None) -> QuerySet:
    alias = queryset.db
    computed = {**_text_columns(alias), **counted_columns(alias, caller)}
    return queryset.values_list(*(computed.get(name, name) for name in COLUMNS))


# The caller's id in a compiled list: the one value its SQL takes per request.
CALLER = Placeholder("caller")


class UnfilteredRows:
    """The rows of the session list for a request naming no filter (most of them), as
    ``session_values`` of ``SessionFilter.unfiltered`` would give them, for the
    paginator to slice.

    The SQL of each page (it depends only on whether the caller is a member, and on the
    slice) is compiled once per connection (``wwmaa.rows.compiled_query``) rather than
    built and compiled for every request, which cost a sixth of a list request.
    """

    def __init__(self, user) -> None:
        self.member = roles.is_member(user)
        self.caller = caller_id(user)
        self.alias = TrainingSession.objects.db

    def __getitem__(self, page: slice) -> list[tuple]:
        if not isinstance(page, slice) or page.step is not None:
            raise TypeError("UnfilteredRows are read a slice at a time.")
        query = compiled_query(
            self.alias, _unfiltered_values, self.alias, self.member, page.start, page.stop
        )
        return query.rows({CALLER: self.caller})


def _unfiltered_values(alias: str, member: bool, start: int | None, stop: int | None) -> QuerySet:
    from sessions_app.api.filters import SessionFilter  # the filters import the serializers

    visible = TrainingSession.objects.using(alias).visible_to_kind(member=member)
    return _values(SessionFilter.unfiltered(visible), CALLER)[start:stop]


def represent(rows: Iterable[tuple], user, now: datetime) -> list[dict[str, Any]]:
    """The JSON of ``SessionSerializer`` for rows of ``session_values``, seen by ``user``."""
    writer = _RowWriter(user, now)
    return [writer.row(row) for row in rows]


class _RowWriter:
    """Writes the rows of one list: one caller, one instant.

    A page holds a few instructors, events and sets of tags many times over; each is
    written once and the same object shared by its rows (the JSON is the same, with fewer
    objects to build and for the garbage collector to walk).
    """

    __slots__ = ("caller", "events", "now", "people", "tags", "user")

    def __init__(self, user, now: datetime) -> None:
        self.user = user
        self.caller = Caller.of(user)  # the caller's role, worked out once for the list
        self.now = now
        self.people: dict[int, dict[str, Any]] = {}
        self.events: dict[Any, dict[str, Any]] = {}
        self.tags: dict[str | None, list | None] = {}

    def row(self, row: tuple) -> dict[str, Any]:
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
        session = SessionRow()
        session.pk = pk
        session.instructor_id = instructor_id
        session.start_time = _parsed(start_time)  # never null
        session.end_time = _parsed(end_time)
        session.capacity = capacity
        session.status = status
        session.room_status = room_status
        session.is_public = is_public
        session.members_only = members_only
        decision = can_join(
            session,
            self.user,
            now=self.now,
            taken=seats_taken,
            user_holds_seat=caller_holds_seat,
            caller=self.caller,
        )
        if event_id is None:
            event = None
        elif (event := self.events.get(event_id)) is None:
            event = self.events[event_id] = {"id": str(event_id), "title": event_title}
        if (tag_list := self.tags.get(tags, _UNREAD)) is _UNREAD:
            tag_list = self.tags[tags] = _tags(tags)
        if (instructor := self.people.get(instructor_id)) is None:
            instructor = self.people[instructor_id] = {
                "id": instructor_id,
                "name": display_name_of(first_name, last_name, username),
            }
        return {
            "id": str(pk),
            "title": title,
            "description": description,
            "event": event,
            "instructor": instructor,
            "start_time": iso_text(start_time),
            "duration_minutes": duration_minutes,
            "end_time": iso_text(end_time),
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
            "tags": tag_list,
            "archived_at": iso_text(archived_at),
            "created_at": iso_text(created_at),
            "updated_at": iso_text(updated_at),
            "can_join": decision_json(decision),
            "registered": bool(caller_registered),
        }
