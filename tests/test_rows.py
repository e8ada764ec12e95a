"""``wwmaa.rows``: hot-path reads build the very instances the ORM would."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from sessions_app.models import SessionAttendance, TrainingSession
from sessions_app.services.eligibility import session_with_seats
from tests.conftest import NOW
from wwmaa.rows import CompiledQuery, Placeholder, compiled_query, model_rows


def assert_same_row(read, expected) -> None:
    assert type(read) is type(expected)
    assert read._state.adding is False and read._state.db == expected._state.db
    for field in type(expected)._meta.concrete_fields:
        assert getattr(read, field.attname) == getattr(expected, field.attname), field.name
        assert type(getattr(read, field.attname)) is type(getattr(expected, field.attname))


def read_one(model, pk):
    rows = model_rows(model, "default")
    with rows.connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {rows.columns} FROM {rows.table} WHERE {rows.table}.id = %s",
            [rows.sql_value("id", pk)],
        )
        return rows.instance(cursor.fetchone())


def test_a_session_reads_as_the_orm_reads_it(frozen, make_session, event):
    session = make_session(
        event=event,
        capacity=12,
        tags=["kata", "ünïcode"],
        started_at=NOW - timedelta(minutes=3),
        description="Line one\nline two",
    )

    read = read_one(TrainingSession, session.pk)

    assert_same_row(read, TrainingSession.objects.get(pk=session.pk))
    assert read.start_time.tzinfo is not None and read.tags == ["kata", "ünïcode"]
    assert read.event.title == event.title  # relations still load lazily


def test_an_attendance_reads_as_the_orm_reads_it(frozen, make_session, member):
    attendance = SessionAttendance.objects.create(
        session=make_session(), user=member, joined_at=NOW, last_seen_at=NOW
    )

    read = read_one(SessionAttendance, attendance.pk)

    assert_same_row(read, SessionAttendance.objects.get(pk=attendance.pk))
    assert read.left_at is None


def test_the_session_a_join_decides_on_carries_its_seats(
    frozen, make_session, member, other_member
):
    session = make_session(capacity=5)
    SessionAttendance.objects.create(session=session, user=other_member, joined_at=NOW)

    mine = session_with_seats(session.pk, member)
    SessionAttendance.objects.create(session=session, user=member, joined_at=NOW)
    theirs = session_with_seats(str(session.pk), member)

    assert_same_row(mine, TrainingSession.objects.get(pk=session.pk))
    assert (mine.seats_taken, mine.caller_holds_seat) == (1, False)
    assert (theirs.seats_taken, theirs.caller_holds_seat) == (2, True)
    assert session_with_seats("6a1c0f0e-0000-4000-8000-000000000000", member) is None


def test_each_thread_reads_through_its_own_connection(db):
    seen = {}

    def read() -> None:
        try:
            seen["thread"] = model_rows(TrainingSession, "default").connection
        finally:
            connections.close_all()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()

    assert model_rows(TrainingSession, "default").connection is connections["default"]
    assert seen["thread"] is not connections["default"]


TITLE = Placeholder("title")
ROW_COLUMNS = ("id", "event_id", "start_time", "tags", "is_public", "capacity")


def with_title(title) -> RawSQL:
    quote = connections["default"].ops.quote_name
    column = f"{quote(TrainingSession._meta.db_table)}.{quote('title')}"
    return RawSQL(f"{column} = %s", (title,), output_field=BooleanField())


def test_a_compiled_query_gives_the_rows_iterating_it_would(frozen, make_session, event):
    make_session(event=event, title="Kata", capacity=12, tags=["kata", "ünïcode"])
    make_session(title="Sparring", is_public=False, start_time=NOW + timedelta(days=1))
    queryset = TrainingSession.objects.order_by("start_time").values_list(
        *ROW_COLUMNS, with_title("Kata")
    )

    rows = CompiledQuery(queryset.all()).rows()

    assert rows == list(queryset)
    # The same conversions: UUIDs (text on SQLite), aware datetimes, JSON lists.
    assert [tuple(type(value) for value in row) for row in rows] == [
        tuple(type(value) for value in row) for row in queryset
    ]


def test_each_run_takes_its_placeholders_values(frozen, make_session):
    make_session(title="Kata")
    make_session(title="Sparring", start_time=NOW + timedelta(days=1))
    query = CompiledQuery(
        TrainingSession.objects.order_by("start_time").values_list("title", with_title(TITLE))
    )

    assert query.rows({TITLE: "Kata"}) == [("Kata", True), ("Sparring", False)]
    assert query.rows({TITLE: "Sparring"}) == [("Kata", False), ("Sparring", True)]
    with pytest.raises(KeyError):
        query.rows()  # a placeholder without a value is an error, never a NULL


def test_a_query_that_can_match_nothing_runs_no_sql(db, django_assert_num_queries):
    query = CompiledQuery(TrainingSession.objects.filter(pk__in=[]).values_list("id"))
    with django_assert_num_queries(0):
        assert query.rows() == []


def test_only_values_list_queries_compile(db):
    with pytest.raises(TypeError):
        CompiledQuery(TrainingSession.objects.all())
    with pytest.raises(TypeError):
        CompiledQuery(TrainingSession.objects.values("id"))


def sessions_after(alias: str, hours: int):
    built.append(hours)
    return (
        TrainingSession.objects.using(alias)
        .filter(start_time__gt=NOW + timedelta(hours=hours))
        .values_list("title")
    )


built: list[int] = []


def test_a_query_is_compiled_once_per_connection_and_arguments(
    frozen, make_session, django_assert_num_queries
):
    built.clear()
    make_session(title="Kata", start_time=NOW + timedelta(hours=3))
    with django_assert_num_queries(3):
        first = compiled_query("default", sessions_after, "default", 1).rows()
        again = compiled_query("default", sessions_after, "default", 1).rows()
        later = compiled_query("default", sessions_after, "default", 5).rows()
    assert first == again == [("Kata",)] and later == []
    assert built == [1, 5]

    def in_a_thread() -> None:
        try:
            compiled_query("default", sessions_after, "default", 1)
        finally:
            connections.close_all()

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    assert built == [1, 5, 1]  # another thread, another connection: compiled again
