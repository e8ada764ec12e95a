"""The auto-end job: sessions 30 minutes past their end are ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions_app import services
from sessions_app.jobs import auto_end
from sessions_app.jobs.base import JobReport
from sessions_app.models import (
    EndReason,
    RoomStatus,
    SessionAttendance,
    SessionStatus,
    TrainingSession,
)
from tests.conftest import NOW

START = NOW - timedelta(hours=2)
END = START + timedelta(minutes=60)  # NOW - 1 hour


@pytest.fixture
def live_session(make_session):
    return make_session(
        start_time=START,
        status=SessionStatus.LIVE,
        started_at=START,
        room_status=RoomStatus.READY,
        room_id="local-x",
    )


def reload(session):
    session.refresh_from_db()
    return session


@pytest.mark.parametrize(
    ("after_end", "ended"),
    [
        (timedelta(minutes=29, seconds=59), False),
        (timedelta(minutes=30), True),
        (timedelta(minutes=30, seconds=1), True),
    ],
    ids=["29m59s after the end", "30m after", "30m1s after"],
)
def test_a_live_session_ends_as_overdue_30_minutes_after_its_end(
    tick, live_session, after_end, ended
):
    report = tick(auto_end, END + after_end)

    live_session = reload(live_session)
    if ended:
        assert live_session.status == SessionStatus.ENDED
        assert live_session.end_reason == EndReason.AUTO_OVERDUE
        assert live_session.ended_at == END + after_end
        assert str(report) == "auto_end: 1 ended overdue, 0 ended not started"
    else:
        assert live_session.status == SessionStatus.LIVE
        assert str(report) == "auto_end: 0 ended overdue, 0 ended not started"


@pytest.mark.parametrize(
    ("after_end", "ended"),
    [(timedelta(minutes=29, seconds=59), False), (timedelta(minutes=30), True)],
    ids=["29m59s after the end", "30m after"],
)
def test_a_session_that_never_started_ends_as_not_started_30_minutes_after_its_end(
    tick, make_session, after_end, ended
):
    session = make_session(start_time=START)

    tick(auto_end, END + after_end)

    session = reload(session)
    assert session.status == (SessionStatus.ENDED if ended else SessionStatus.SCHEDULED)
    assert session.end_reason == (EndReason.NOT_STARTED if ended else None)
    assert session.started_at is None


def test_open_attendance_is_closed_as_in_a_normal_end(tick, live_session, member):
    row = SessionAttendance.objects.create(
        session=live_session,
        user=member,
        joined_at=START,
        segment_started_at=END - timedelta(minutes=10),
        watch_time_seconds=600,
    )
    at = END + timedelta(minutes=30)

    tick(auto_end, at)

    row.refresh_from_db()
    assert row.segment_started_at is None
    assert row.left_at == at
    assert row.watch_time_seconds == 600 + 40 * 60


def test_ended_and_canceled_sessions_are_left_alone(tick, make_session):
    ended = make_session(
        start_time=START, status=SessionStatus.ENDED, ended_at=END, end_reason="instructor"
    )
    canceled = make_session(title="Canceled", start_time=START, status=SessionStatus.CANCELED)

    report = tick(auto_end, END + timedelta(hours=5))

    assert report.units == 0
    assert reload(ended).ended_at == END
    assert reload(canceled).status == SessionStatus.CANCELED


def test_the_unit_run_twice_makes_one_transition(live_session, frozen):
    at = END + timedelta(minutes=30)
    frozen.move_to(at)
    report = JobReport("auto_end", (auto_end.OVERDUE, auto_end.NOT_STARTED))

    first = auto_end.end_next_overdue(at, report)
    second = auto_end.end_next_overdue(at + timedelta(minutes=5), report)

    assert (first, second) == (True, False)
    assert report[auto_end.OVERDUE] == 1
    assert reload(live_session).ended_at == at


def test_an_end_by_the_instructor_after_the_auto_end_is_a_conflict(tick, live_session, instructor):
    at = END + timedelta(minutes=30)
    tick(auto_end, at)

    with pytest.raises(services.Conflict) as refused:
        services.end_session(instructor, live_session.pk, now=at + timedelta(seconds=1))

    assert refused.value.code == "session_ended"
    assert reload(live_session).end_reason == EndReason.AUTO_OVERDUE


def test_the_30_minutes_are_real_time_across_the_spring_change(tick, make_session):
    # Sunday 8 March 2026, Los Angeles: 01:30 PST (09:30 UTC) for an hour ends at 03:30 PDT.
    session = make_session(start_time=datetime(2026, 3, 8, 9, 30, tzinfo=UTC))

    tick(auto_end, datetime(2026, 3, 8, 10, 59, 59, tzinfo=UTC))  # 03:59:59 PDT
    assert reload(session).status == SessionStatus.SCHEDULED

    tick(auto_end, datetime(2026, 3, 8, 11, 0, tzinfo=UTC))  # 04:00 PDT
    assert reload(session).end_reason == EndReason.NOT_STARTED


def _stored_not_due(instructor, count: int) -> None:
    rows = []
    for i in range(count):
        start = NOW + timedelta(days=1 + i) if i % 2 else NOW - timedelta(days=1 + i)
        rows.append(
            TrainingSession(
                instructor=instructor,
                title=f"Stored {i}",
                start_time=start,
                duration_minutes=60,
                end_time=start + timedelta(minutes=60),
                status=SessionStatus.SCHEDULED if i % 2 else SessionStatus.ENDED,
                ended_at=None if i % 2 else start + timedelta(minutes=60),
            )
        )
    TrainingSession.objects.bulk_create(rows)


def test_a_tick_costs_the_same_with_5_or_200_sessions_stored_that_are_not_due(
    tick, make_session, instructor
):
    _stored_not_due(instructor, 5)
    make_session(title="A1", start_time=NOW - timedelta(hours=3))
    make_session(title="A2", start_time=NOW - timedelta(hours=2), status=SessionStatus.LIVE)
    with CaptureQueriesContext(connection) as small:
        first = tick(auto_end, NOW)

    _stored_not_due(instructor, 195)
    make_session(title="B1", start_time=NOW - timedelta(minutes=100))
    make_session(title="B2", start_time=NOW - timedelta(minutes=95), status=SessionStatus.LIVE)
    with CaptureQueriesContext(connection) as large:
        second = tick(auto_end, NOW + timedelta(minutes=10))

    assert str(first) == str(second) == "auto_end: 1 ended overdue, 1 ended not started"
    assert len(small) == len(large)
