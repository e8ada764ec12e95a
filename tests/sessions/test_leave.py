"""``leave_session`` and ``record_presence``: closing segments and the presence heartbeat."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessions_app.models import SessionAttendance, TrainingSession
from sessions_app.services import (
    Conflict,
    JoinRefused,
    LoginRequired,
    Reason,
    end_session,
    join_session,
    leave_session,
    record_presence,
    start_session,
)
from tests.conftest import NOW

START = NOW + timedelta(minutes=5)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def session(make_session) -> TrainingSession:
    return make_session(start_time=START)


def attendance_of(session, user) -> SessionAttendance:
    return SessionAttendance.objects.get(session=session, user=user)


def test_leaving_closes_the_open_segment(frozen, session, member):
    join_session(member, session.pk)
    frozen.move_to(NOW + 7 * MINUTE)

    returned = leave_session(member, session.pk)

    row = attendance_of(session, member)
    assert row.pk == returned.pk
    assert row.left_at == NOW + 7 * MINUTE
    assert row.segment_started_at is None
    assert row.watch_time_seconds == 7 * 60
    assert row.last_seen_at == NOW + 7 * MINUTE
    assert row.joined_at == NOW


def test_leaving_twice_changes_nothing_the_second_time(frozen, session, member):
    join_session(member, session.pk)
    frozen.move_to(NOW + 7 * MINUTE)
    leave_session(member, session.pk)
    after_first = attendance_of(session, member)
    frozen.move_to(NOW + 30 * MINUTE)

    leave_session(member, session.pk)

    after_second = attendance_of(session, member)
    assert after_second.left_at == NOW + 7 * MINUTE
    assert after_second.watch_time_seconds == 7 * 60
    assert after_second.last_seen_at == NOW + 7 * MINUTE
    assert after_second.updated_at == after_first.updated_at


def test_leaving_without_having_joined_is_a_conflict(frozen, session, member):
    with pytest.raises(Conflict) as conflict:
        leave_session(member, session.pk)

    assert conflict.value.code == "not_joined"
    assert not SessionAttendance.objects.exists()


def test_leaving_a_session_other_than_the_one_joined_is_a_conflict(
    frozen, make_session, session, member
):
    join_session(member, session.pk)
    other = make_session(start_time=START + timedelta(hours=3))

    with pytest.raises(Conflict) as conflict:
        leave_session(member, other.pk)

    assert conflict.value.code == "not_joined"
    assert attendance_of(session, member).segment_started_at == NOW


def test_an_anonymous_visitor_cannot_leave(session, anonymous):
    with pytest.raises(LoginRequired):
        leave_session(anonymous, session.pk)


def test_leaving_keeps_the_seat(frozen, make_session, member, other_member):
    session = make_session(start_time=START, capacity=1)
    join_session(member, session.pk)
    leave_session(member, session.pk)

    with pytest.raises(JoinRefused) as refused:
        join_session(other_member, session.pk)

    assert refused.value.code == Reason.FULL


def test_leaving_after_the_session_ended_adds_no_time(frozen, session, instructor, member):
    frozen.move_to(START - MINUTE)
    start_session(instructor, session.pk)
    join_session(member, session.pk)
    frozen.move_to(START + 20 * MINUTE)
    end_session(instructor, session.pk)
    frozen.move_to(START + 45 * MINUTE)

    leave_session(member, session.pk)

    row = attendance_of(session, member)
    assert row.watch_time_seconds == 21 * 60
    assert row.left_at == START + 20 * MINUTE


def test_a_heartbeat_while_present_updates_last_seen(frozen, session, member):
    join_session(member, session.pk)
    frozen.move_to(NOW + 2 * MINUTE)

    counted = record_presence(member, session.pk)

    assert counted is True
    row = attendance_of(session, member)
    assert row.last_seen_at == NOW + 2 * MINUTE
    assert row.segment_started_at == NOW
    assert row.watch_time_seconds == 0


def test_a_heartbeat_after_leaving_changes_nothing(frozen, session, member):
    join_session(member, session.pk)
    frozen.move_to(NOW + 3 * MINUTE)
    leave_session(member, session.pk)
    frozen.move_to(NOW + 4 * MINUTE)

    counted = record_presence(member, session.pk)

    assert counted is False
    row = attendance_of(session, member)
    assert row.last_seen_at == NOW + 3 * MINUTE
    assert row.segment_started_at is None


def test_a_heartbeat_without_having_joined_changes_nothing(frozen, session, member):
    assert record_presence(member, session.pk) is False
    assert not SessionAttendance.objects.exists()


def test_a_heartbeat_uses_the_instant_given(session, member):
    join_session(member, session.pk, now=START)

    assert record_presence(member, session.pk, now=START + MINUTE) is True

    assert attendance_of(session, member).last_seen_at == START + MINUTE


def test_an_anonymous_heartbeat_is_refused(session, anonymous):
    with pytest.raises(LoginRequired):
        record_presence(anonymous, session.pk)
