"""end_session and finish_session: ending a live session and closing its attendance."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessions_app import services
from sessions_app.models import EndReason, SessionAttendance, SessionStatus
from tests.conftest import NOW

pytestmark = pytest.mark.usefixtures("frozen")

STARTED = NOW - timedelta(minutes=40)


@pytest.fixture
def live_session(make_session):
    """Went live at 15:20 UTC; NOW is 16:00 UTC."""
    return make_session(
        start_time=NOW - timedelta(minutes=30),
        status=SessionStatus.LIVE,
        started_at=STARTED,
        room_id="local-room",
        room_url="http://testserver/room/",
        room_status="ready",
    )


# Who may, and the reason recorded


def test_the_owner_ends_it_as_the_instructor(instructor, live_session):
    ended = services.end_session(instructor, live_session.pk)

    ended.refresh_from_db()
    assert ended.status == SessionStatus.ENDED
    assert ended.end_reason == EndReason.INSTRUCTOR
    assert ended.ended_at == NOW
    assert ended.started_at == STARTED


def test_an_admin_ends_it_as_an_admin(admin_user, live_session):
    ended = services.end_session(admin_user, live_session.pk)

    assert ended.status == SessionStatus.ENDED
    assert ended.end_reason == EndReason.ADMIN


@pytest.mark.parametrize(
    "actor_fixture", ["board_member", "other_instructor", "member", "public_user"]
)
def test_nobody_else_may_end_it(request, actor_fixture, live_session):
    actor = request.getfixturevalue(actor_fixture)

    with pytest.raises(services.NotAllowed):
        services.end_session(actor, live_session.pk)

    live_session.refresh_from_db()
    assert live_session.status == SessionStatus.LIVE


def test_an_anonymous_visitor_must_log_in(anonymous, live_session):
    with pytest.raises(services.LoginRequired):
        services.end_session(anonymous, live_session.pk)


def test_it_records_the_now_it_is_given(instructor, live_session):
    at = NOW + timedelta(minutes=3)

    ended = services.end_session(instructor, live_session.pk, now=at)

    assert ended.ended_at == at


# Only from live


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (SessionStatus.SCHEDULED, "not_live"),
        (SessionStatus.ENDED, "session_ended"),
        (SessionStatus.CANCELED, "session_canceled"),
    ],
)
def test_only_a_live_session_may_end(make_session, instructor, status, code):
    other = make_session(status=status)

    with pytest.raises(services.Conflict) as excinfo:
        services.end_session(instructor, other.pk)

    assert excinfo.value.code == code
    other.refresh_from_db()
    assert other.status == status
    assert other.ended_at is None


def test_ending_twice_is_a_conflict_that_keeps_the_first_end(frozen, instructor, live_session):
    services.end_session(instructor, live_session.pk)
    frozen.move_to(NOW + timedelta(minutes=1))

    with pytest.raises(services.Conflict) as excinfo:
        services.end_session(instructor, live_session.pk)

    assert excinfo.value.code == "session_ended"
    live_session.refresh_from_db()
    assert live_session.ended_at == NOW


# Attendance


def test_every_open_attendance_is_closed_with_its_segment_counted(
    instructor, member, other_member, live_session
):
    # mia: 5 minutes from an earlier segment, present again for the last 10 minutes.
    mia = SessionAttendance.objects.create(
        session=live_session,
        user=member,
        joined_at=STARTED,
        segment_started_at=NOW - timedelta(minutes=10),
        watch_time_seconds=300,
    )
    # max: present since the start.
    max_ = SessionAttendance.objects.create(
        session=live_session, user=other_member, joined_at=STARTED, segment_started_at=STARTED
    )
    host = SessionAttendance.objects.create(
        session=live_session, user=instructor, joined_at=STARTED, segment_started_at=STARTED
    )

    services.end_session(instructor, live_session.pk)

    for row in (mia, max_, host):
        row.refresh_from_db()
        assert row.left_at == NOW
        assert row.segment_started_at is None
        assert not row.is_present
    assert mia.watch_time_seconds == 300 + 600
    assert max_.watch_time_seconds == 40 * 60
    assert host.watch_time_seconds == 40 * 60
    assert mia.joined_at == STARTED


def test_attendance_already_closed_is_left_unchanged(frozen, instructor, member, live_session):
    left_at = NOW - timedelta(minutes=15)
    frozen.move_to(left_at)
    gone = SessionAttendance.objects.create(
        session=live_session,
        user=member,
        joined_at=STARTED,
        left_at=left_at,
        segment_started_at=None,
        watch_time_seconds=25 * 60,
    )
    frozen.move_to(NOW)

    services.end_session(instructor, live_session.pk)

    gone.refresh_from_db()
    assert gone.left_at == left_at
    assert gone.watch_time_seconds == 25 * 60
    assert gone.updated_at == left_at


def test_attendance_of_other_sessions_is_not_touched(
    instructor, other_instructor, member, live_session, make_session
):
    elsewhere = make_session(
        instructor=other_instructor,
        start_time=NOW - timedelta(minutes=30),
        status=SessionStatus.LIVE,
        started_at=STARTED,
    )
    there = SessionAttendance.objects.create(
        session=elsewhere, user=member, joined_at=STARTED, segment_started_at=STARTED
    )

    services.end_session(instructor, live_session.pk)

    there.refresh_from_db()
    assert there.is_present
    assert there.left_at is None


def test_ending_twice_never_counts_a_segment_twice(frozen, instructor, member, live_session):
    row = SessionAttendance.objects.create(
        session=live_session, user=member, joined_at=STARTED, segment_started_at=STARTED
    )
    services.end_session(instructor, live_session.pk)
    frozen.move_to(NOW + timedelta(minutes=10))

    with pytest.raises(services.Conflict):
        services.end_session(instructor, live_session.pk)

    row.refresh_from_db()
    assert row.watch_time_seconds == 40 * 60


# finish_session: the shared transition, and the race with the auto-end job


def test_finish_session_returns_false_for_the_loser(instructor, member, live_session):
    row = SessionAttendance.objects.create(
        session=live_session, user=member, joined_at=STARTED, segment_started_at=STARTED
    )
    services.end_session(instructor, live_session.pk)

    won = services.finish_session(
        live_session.pk,
        from_status=SessionStatus.LIVE,
        reason=EndReason.AUTO_OVERDUE,
        now=NOW + timedelta(minutes=5),
    )

    assert won is False
    live_session.refresh_from_db()
    assert live_session.end_reason == EndReason.INSTRUCTOR
    assert live_session.ended_at == NOW
    row.refresh_from_db()
    assert row.left_at == NOW
    assert row.watch_time_seconds == 40 * 60


def test_when_the_auto_end_wins_the_instructor_gets_a_conflict(instructor, live_session):
    assert services.finish_session(
        live_session.pk, from_status=SessionStatus.LIVE, reason=EndReason.AUTO_OVERDUE, now=NOW
    )

    with pytest.raises(services.Conflict) as excinfo:
        services.end_session(instructor, live_session.pk, now=NOW + timedelta(seconds=1))

    assert excinfo.value.code == "session_ended"
    live_session.refresh_from_db()
    assert live_session.end_reason == EndReason.AUTO_OVERDUE
    assert live_session.ended_at == NOW


def test_finish_session_ends_a_session_that_never_started(make_session):
    never = make_session(start_time=NOW - timedelta(hours=2))

    won = services.finish_session(
        never.pk, from_status=SessionStatus.SCHEDULED, reason=EndReason.NOT_STARTED, now=NOW
    )

    assert won is True
    never.refresh_from_db()
    assert never.status == SessionStatus.ENDED
    assert never.end_reason == EndReason.NOT_STARTED
    assert never.started_at is None


def test_finish_session_from_the_wrong_status_changes_nothing(live_session):
    won = services.finish_session(
        live_session.pk, from_status=SessionStatus.SCHEDULED, reason=EndReason.NOT_STARTED, now=NOW
    )

    assert won is False
    live_session.refresh_from_db()
    assert live_session.status == SessionStatus.LIVE
    assert live_session.end_reason is None
