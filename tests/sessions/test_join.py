"""``join_session``: the ``can_join`` check plus taking a seat and the room credentials."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessions_app.models import RoomStatus, SessionAttendance, SessionStatus, TrainingSession
from sessions_app.rooms import RoomProviderUnavailable
from sessions_app.rooms.local import LocalRoomProvider
from sessions_app.services import JoinRefused, Reason, join_session, leave_session
from tests.conftest import NOW

# The clock is frozen at NOW, five minutes before the start: the member window is open.
START = NOW + timedelta(minutes=5)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def session(make_session) -> TrainingSession:
    """A members-only session whose room has not been created yet."""
    return make_session(start_time=START)


def attendance_of(session, user) -> SessionAttendance:
    return SessionAttendance.objects.get(session=session, user=user)


def test_joining_creates_the_attendance_row(frozen, session, member):
    result = join_session(member, session.pk)

    row = attendance_of(session, member)
    assert row == result.attendance
    assert row.joined_at == NOW
    assert row.segment_started_at == NOW
    assert row.last_seen_at == NOW
    assert row.left_at is None
    assert row.watch_time_seconds == 0
    assert result.rejoined is False


def test_joining_creates_the_room_when_it_is_pending(frozen, session, member):
    result = join_session(member, session.pk)

    session.refresh_from_db()
    assert session.room_status == RoomStatus.READY
    assert session.room_id == f"local-{session.pk}"
    assert session.room_url == f"http://testserver/sessions/{session.pk}/room/"
    assert result.session.room_status == RoomStatus.READY
    assert result.credentials.room_url == session.room_url


def test_joining_a_ready_room_keeps_that_room(frozen, make_session, member):
    session = make_session(
        start_time=START,
        room_status=RoomStatus.READY,
        room_id="room-1",
        room_url="http://testserver/rooms/room-1",
    )

    join_session(member, session.pk)

    session.refresh_from_db()
    assert (session.room_id, session.room_status) == ("room-1", RoomStatus.READY)


def test_joining_retries_a_room_that_failed_and_succeeds_when_the_provider_is_back(
    frozen, make_session, member
):
    session = make_session(start_time=START, room_status=RoomStatus.FAILED)

    result = join_session(member, session.pk)

    session.refresh_from_db()
    assert session.room_status == RoomStatus.READY
    assert result.credentials.room_url == session.room_url


@pytest.mark.parametrize("room_status", [RoomStatus.PENDING, RoomStatus.FAILED])
def test_a_room_the_provider_cannot_create_now_refuses_the_join(
    frozen, make_session, member, monkeypatch, room_status
):
    def unavailable(self, session):
        raise RoomProviderUnavailable("provider down")

    monkeypatch.setattr(LocalRoomProvider, "create_room", unavailable)
    session = make_session(start_time=START, room_status=room_status)

    with pytest.raises(JoinRefused) as refused:
        join_session(member, session.pk)

    assert refused.value.code == Reason.ROOM_NOT_READY
    assert refused.value.decision.can_join is False
    assert refused.value.decision.opens_at == START - timedelta(minutes=10)
    session.refresh_from_db()
    assert session.room_status == room_status
    assert not SessionAttendance.objects.filter(session=session).exists()


def test_a_deleted_room_is_never_recreated_by_a_join(frozen, make_session, member, monkeypatch):
    def must_not_be_called(self, session):
        raise AssertionError("the provider was asked for a room")

    monkeypatch.setattr(LocalRoomProvider, "create_room", must_not_be_called)
    session = make_session(start_time=START, room_status=RoomStatus.DELETED)

    with pytest.raises(JoinRefused) as refused:
        join_session(member, session.pk)

    assert refused.value.code == Reason.ROOM_NOT_READY
    session.refresh_from_db()
    assert session.room_status == RoomStatus.DELETED


def fail_credentials(monkeypatch) -> None:
    """From now on the provider cannot issue join credentials."""

    def unavailable(self, session, user, role, *, participant_id=None):
        raise RoomProviderUnavailable("provider down")

    monkeypatch.setattr(LocalRoomProvider, "join_credentials", unavailable)


def test_a_first_join_without_credentials_takes_no_seat(frozen, make_session, member, monkeypatch):
    session = make_session(start_time=START, capacity=1)
    fail_credentials(monkeypatch)

    with pytest.raises(JoinRefused) as refused:
        join_session(member, session.pk)

    assert refused.value.code == Reason.ROOM_NOT_READY
    assert not SessionAttendance.objects.filter(session=session).exists()


def test_a_rejoin_without_credentials_keeps_the_seat_but_opens_no_segment(
    frozen, session, member, monkeypatch
):
    join_session(member, session.pk)
    frozen.move_to(NOW + 10 * MINUTE)
    leave_session(member, session.pk)
    frozen.move_to(NOW + 20 * MINUTE)

    fail_credentials(monkeypatch)
    with pytest.raises(JoinRefused):
        join_session(member, session.pk)

    row = attendance_of(session, member)
    assert row.segment_started_at is None
    assert row.left_at == NOW + 10 * MINUTE
    assert row.watch_time_seconds == 600


def test_a_second_tab_without_credentials_keeps_the_first_tab_in_the_room(
    frozen, session, member, monkeypatch
):
    join_session(member, session.pk)
    frozen.move_to(NOW + 2 * MINUTE)

    fail_credentials(monkeypatch)
    with pytest.raises(JoinRefused):
        join_session(member, session.pk)

    assert attendance_of(session, member).segment_started_at == NOW


@pytest.mark.parametrize(
    ("role", "room_role"),
    [
        ("instructor", "host"),
        ("admin_user", "host"),
        ("member", "participant"),
        ("board_member", "participant"),
        ("other_instructor", "participant"),
    ],
)
def test_the_instructor_and_admins_host_the_room_and_everyone_else_takes_part(
    request, frozen, session, role, room_role
):
    user = request.getfixturevalue(role)

    result = join_session(user, session.pk)

    assert result.credentials.role == room_role
    assert result.credentials.room_url == f"http://testserver/sessions/{session.pk}/room/"


@pytest.fixture
def refused_case(make_session, anonymous, public_user, member, other_member):
    """Arrange a session and a user whom ``join_session`` must refuse for ``reason``."""

    def arrange(reason: str):
        user = member
        if reason == Reason.LOGIN_REQUIRED:
            return make_session(start_time=START), anonymous
        if reason == Reason.CANCELED:
            session = make_session(start_time=START, status=SessionStatus.CANCELED, canceled_at=NOW)
        elif reason == Reason.ENDED:
            session = make_session(
                start_time=NOW - timedelta(hours=2), status=SessionStatus.ENDED, ended_at=NOW
            )
        elif reason == Reason.NOT_VISIBLE:
            session, user = make_session(start_time=START), public_user
        elif reason == Reason.MEMBERS_ONLY:
            session, user = make_session(start_time=START, is_public=True), public_user
        elif reason == Reason.TOO_EARLY:
            session = make_session(start_time=NOW + timedelta(minutes=10, seconds=1))
        elif reason == Reason.TOO_LATE:
            session = make_session(start_time=NOW - timedelta(minutes=60), duration_minutes=60)
        elif reason == Reason.FULL:
            session = make_session(start_time=START, capacity=1)
            join_session(other_member, session.pk)
        elif reason == Reason.ROOM_NOT_READY:
            session = make_session(start_time=START, room_status=RoomStatus.DELETED)
        return session, user

    return arrange


@pytest.mark.parametrize(
    "reason",
    [
        Reason.LOGIN_REQUIRED,
        Reason.CANCELED,
        Reason.ENDED,
        Reason.NOT_VISIBLE,
        Reason.MEMBERS_ONLY,
        Reason.TOO_EARLY,
        Reason.TOO_LATE,
        Reason.FULL,
        Reason.ROOM_NOT_READY,
    ],
)
def test_a_refused_join_raises_join_refused_with_the_reason_as_its_code(
    frozen, refused_case, reason
):
    session, user = refused_case(reason)
    seats_before = SessionAttendance.objects.filter(session=session).count()

    with pytest.raises(JoinRefused) as refused:
        join_session(user, session.pk)

    assert refused.value.code == reason
    assert refused.value.decision.reason == reason
    assert refused.value.decision.can_join is False
    assert SessionAttendance.objects.filter(session=session).count() == seats_before


def test_a_too_early_refusal_says_when_the_window_opens(frozen, make_session, member):
    session = make_session(start_time=NOW + timedelta(minutes=11))

    with pytest.raises(JoinRefused) as refused:
        join_session(member, session.pk)

    assert refused.value.decision.opens_at == NOW + MINUTE


def test_the_last_seat_goes_to_the_first_to_join(frozen, make_session, member, other_member):
    session = make_session(start_time=START, capacity=1)

    join_session(member, session.pk)
    with pytest.raises(JoinRefused) as refused:
        join_session(other_member, session.pk)

    assert refused.value.code == Reason.FULL
    assert refused.value.decision.seats_left == 0
    assert list(session.attendance.values_list("user", flat=True)) == [member.pk]


def test_the_instructor_joins_a_full_session(frozen, make_session, instructor, member):
    session = make_session(start_time=START, capacity=1)
    join_session(member, session.pk)

    result = join_session(instructor, session.pk)

    assert result.credentials.role == "host"
    assert session.attendance.count() == 2


def test_the_instructor_joining_first_leaves_every_seat_to_others(
    frozen, make_session, instructor, member
):
    session = make_session(start_time=START, capacity=1)
    join_session(instructor, session.pk)

    result = join_session(member, session.pk)

    assert result.attendance.user == member


def test_a_member_joins_a_live_session_past_its_end_time(frozen, make_session, member):
    session = make_session(
        start_time=NOW - timedelta(minutes=70),
        duration_minutes=60,
        status=SessionStatus.LIVE,
        started_at=NOW - timedelta(minutes=70),
    )

    result = join_session(member, session.pk)

    assert result.attendance.segment_started_at == NOW


def test_a_rejoin_after_leaving_keeps_the_row_and_the_seat_when_the_session_is_now_full(
    frozen, make_session, member, other_member, board_member
):
    session = make_session(start_time=START, capacity=2)
    first = join_session(member, session.pk).attendance
    frozen.move_to(NOW + 10 * MINUTE)
    leave_session(member, session.pk)
    join_session(other_member, session.pk)
    frozen.move_to(NOW + 15 * MINUTE)

    again = join_session(member, session.pk)

    assert again.rejoined is True
    assert again.attendance.pk == first.pk
    assert session.attendance.count() == 2
    row = attendance_of(session, member)
    assert row.joined_at == NOW
    assert row.segment_started_at == NOW + 15 * MINUTE
    assert row.left_at is None
    assert row.last_seen_at == NOW + 15 * MINUTE
    assert row.watch_time_seconds == 600
    with pytest.raises(JoinRefused) as refused:
        join_session(board_member, session.pk)
    assert refused.value.code == Reason.FULL


def test_joining_twice_while_present_keeps_the_open_segment(frozen, session, member):
    join_session(member, session.pk)
    frozen.move_to(NOW + 5 * MINUTE)

    second_tab = join_session(member, session.pk)

    assert second_tab.rejoined is True
    assert session.attendance.count() == 1
    row = attendance_of(session, member)
    assert row.segment_started_at == NOW
    assert row.last_seen_at == NOW + 5 * MINUTE

    frozen.move_to(NOW + 8 * MINUTE)
    leave_session(member, session.pk)

    assert attendance_of(session, member).watch_time_seconds == 8 * 60


def test_watch_time_accumulates_over_every_segment(frozen, session, member):
    join_session(member, session.pk)
    frozen.move_to(NOW + 10 * MINUTE)
    leave_session(member, session.pk)
    frozen.move_to(NOW + 20 * MINUTE)
    join_session(member, session.pk)
    frozen.move_to(NOW + 25 * MINUTE)
    leave_session(member, session.pk)
    frozen.move_to(NOW + 40 * MINUTE)
    join_session(member, session.pk)
    frozen.move_to(NOW + 41 * MINUTE)
    leave_session(member, session.pk)

    row = attendance_of(session, member)
    assert row.watch_time_seconds == (10 + 5 + 1) * 60
    assert row.joined_at == NOW
    assert row.left_at == NOW + 41 * MINUTE
    assert row.segment_started_at is None


def test_an_explicit_instant_is_used_for_the_check_and_the_row(session, member):
    at = START - timedelta(minutes=10)

    result = join_session(member, session.pk, now=at)

    assert result.attendance.joined_at == at
    with pytest.raises(JoinRefused) as refused:
        join_session(member, session.pk, now=at - timedelta(seconds=1))
    assert refused.value.code == Reason.TOO_EARLY
