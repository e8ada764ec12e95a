"""``wwmaa.rows``: hot-path reads build the very instances the ORM would."""

from __future__ import annotations

import threading
from datetime import timedelta

from django.db import connections

from sessions_app.models import SessionAttendance, TrainingSession
from sessions_app.services.eligibility import session_with_seats
from tests.conftest import NOW
from wwmaa.rows import model_rows


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
