"""The seat a join takes under the session's lock: counted and inserted by one statement on
PostgreSQL (``joining._count_and_take_seat``), by a count and an insert elsewhere. Both
ways give the same rows and the same answers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions_app.models import RoomStatus, SessionAttendance, SessionStatus, TrainingSession
from sessions_app.services import JoinRefused, Reason, join_session
from sessions_app.services.eligibility import session_with_seats
from tests.conftest import NOW, make_user
from wwmaa.models import Role

START = NOW + timedelta(minutes=5)


@pytest.fixture
def small(make_session) -> TrainingSession:
    return make_session(
        start_time=START, capacity=2, room_status=RoomStatus.READY, room_id="room-small"
    )


def fill(session, count: int) -> None:
    for n in range(count):
        SessionAttendance.objects.create(
            session=session, user=make_user(f"seated{n}", Role.MEMBER), joined_at=NOW
        )


def joins_sql(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries]


def test_an_admitted_join_takes_its_seat_in_the_counting_statement(frozen, small, member):
    with CaptureQueriesContext(connection) as queries:
        result = join_session(member, small.pk)

    row = SessionAttendance.objects.get(session=small, user=member)
    assert row == result.attendance
    assert result.attendance._state.adding is False
    assert (row.joined_at, row.segment_started_at, row.last_seen_at) == (NOW, NOW, NOW)
    assert (row.left_at, row.watch_time_seconds) == (None, 0)
    assert row.created_at == row.updated_at == NOW
    inserts = [sql for sql in joins_sql(queries) if "INSERT INTO" in sql]
    assert len(inserts) == 1
    if connection.vendor == "postgresql":
        assert inserts[0].startswith("WITH counted")
    else:
        assert inserts[0].startswith('INSERT INTO "sessions_app_sessionattendance"')


def test_a_session_filled_since_the_early_read_refuses_under_the_lock(frozen, small, member):
    stale = session_with_seats(small.pk, member)  # read with both seats free
    fill(small, 2)

    with pytest.raises(JoinRefused) as refused:
        join_session(member, stale)

    assert refused.value.decision.reason == Reason.FULL
    assert refused.value.decision.seats_left == 0
    assert not SessionAttendance.objects.filter(session=small, user=member).exists()
    assert SessionAttendance.objects.filter(session=small).count() == 2


def test_the_last_seat_goes_to_the_join_that_reads_it_free(frozen, small, member):
    stale = session_with_seats(small.pk, member)
    fill(small, 1)

    result = join_session(member, stale)

    assert result.attendance.user == member
    assert SessionAttendance.objects.filter(session=small).count() == 2


def test_the_instructor_gets_in_to_a_full_session(frozen, small, instructor):
    fill(small, 2)

    result = join_session(instructor, small.pk)

    assert result.attendance.user == instructor
    assert SessionAttendance.objects.filter(session=small).count() == 3


def test_a_member_holding_a_seat_in_a_full_session_rejoins_their_row(frozen, small, member):
    fill(small, 1)
    first = join_session(member, small.pk)
    SessionAttendance.objects.filter(pk=first.attendance.pk).update(
        segment_started_at=None, left_at=NOW
    )

    again = join_session(member, small.pk)

    assert again.rejoined is True
    assert again.attendance.pk == first.attendance.pk
    assert SessionAttendance.objects.filter(session=small, user=member).count() == 1


def test_a_session_canceled_since_the_early_read_takes_no_seat(frozen, small, member):
    stale = session_with_seats(small.pk, member)
    TrainingSession.objects.filter(pk=small.pk).update(
        status=SessionStatus.CANCELED, canceled_at=NOW
    )

    with pytest.raises(JoinRefused) as refused:
        join_session(member, stale)

    assert refused.value.decision.reason == Reason.CANCELED
    assert not SessionAttendance.objects.filter(session=small).exists()
