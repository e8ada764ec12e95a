"""The nightly cleanup: retire the rooms of finished sessions, archive old ones."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions_app.jobs import cleanup
from sessions_app.jobs.base import JobReport
from sessions_app.models import RoomStatus, SessionStatus, TrainingSession
from sessions_app.rooms import RoomProviderUnavailable
from tests.conftest import NOW

pytestmark = pytest.mark.usefixtures("fake_provider")


def finished(make_session, status=SessionStatus.ENDED, *, at=NOW - timedelta(hours=3), **extra):
    """A session that ended (or was canceled) at ``at``."""
    fields = {"ended_at": at} if status == SessionStatus.ENDED else {"canceled_at": at}
    return make_session(
        start_time=at - timedelta(hours=1), duration_minutes=60, status=status, **fields, **extra
    )


def with_room(**extra):
    return {"room_status": RoomStatus.READY, **extra}


def reload(session):
    session.refresh_from_db()
    return session


def test_the_rooms_of_ended_and_canceled_sessions_are_retired(tick, make_session, fake_provider):
    ended = finished(make_session, title="Ended", **with_room(room_id="r-ended"))
    canceled = finished(
        make_session, SessionStatus.CANCELED, title="Canceled", **with_room(room_id="r-canceled")
    )
    upcoming = make_session(title="Upcoming", **with_room(room_id="r-upcoming"))

    report = tick(cleanup, NOW)

    assert reload(ended).room_status == RoomStatus.DELETED
    assert reload(canceled).room_status == RoomStatus.DELETED
    assert reload(upcoming).room_status == RoomStatus.READY
    assert sorted(fake_provider.retired) == ["r-canceled", "r-ended"]
    assert str(report) == "cleanup: 2 rooms retired, 0 rooms retrying, 0 archived"


def test_a_room_the_provider_fails_to_retire_is_retried_by_the_next_run(
    tick, make_session, fake_provider
):
    session = finished(make_session, **with_room(room_id="r-1"))
    fake_provider.retire_errors.append(RoomProviderUnavailable("503"))

    first = tick(cleanup, NOW)
    assert str(first) == "cleanup: 0 rooms retired, 1 rooms retrying, 0 archived"
    assert reload(session).room_status == RoomStatus.READY
    assert fake_provider.retired == ["r-1"]  # tried once in the run, not in a loop

    tick(cleanup, NOW + timedelta(days=1))
    assert reload(session).room_status == RoomStatus.DELETED
    assert fake_provider.retired == ["r-1", "r-1"]


@pytest.mark.parametrize(
    ("ago", "archived"),
    [
        (timedelta(days=7) - timedelta(seconds=1), False),
        (timedelta(days=7), False),
        (timedelta(days=7, seconds=1), True),
    ],
    ids=["7d-1s ago", "exactly 7d ago", "7d+1s ago"],
)
def test_sessions_ended_or_canceled_more_than_7_days_ago_are_archived(
    tick, make_session, ago, archived
):
    ended = finished(make_session, at=NOW - ago)
    canceled = finished(make_session, SessionStatus.CANCELED, title="Canceled", at=NOW - ago)

    tick(cleanup, NOW)

    expected = NOW if archived else None
    assert (reload(ended).archived_at, reload(canceled).archived_at) == (expected, expected)


def test_nothing_is_deleted_and_upcoming_sessions_are_not_archived(tick, make_session):
    finished(make_session, at=NOW - timedelta(days=30), **with_room(room_id="old"))
    upcoming = make_session(title="Upcoming")
    before = TrainingSession.objects.count()

    report = tick(cleanup, NOW)

    assert TrainingSession.objects.count() == before
    assert reload(upcoming).archived_at is None
    assert str(report) == "cleanup: 1 rooms retired, 0 rooms retrying, 1 archived"


def test_each_unit_run_twice_does_its_work_once(make_session, fake_provider, frozen):
    finished(make_session, at=NOW - timedelta(days=8), **with_room(room_id="r-1"))
    report = JobReport("cleanup", (cleanup.RETIRED, cleanup.RETIRE_RETRYING, cleanup.ARCHIVED))

    retired = [cleanup.retire_next_room(NOW, report) for _ in range(2)]
    archived = [cleanup.archive_next_batch(NOW, report) for _ in range(2)]

    assert retired == [True, False]
    assert archived == [True, False]
    assert fake_provider.retired == ["r-1"]
    assert (report[cleanup.RETIRED], report[cleanup.ARCHIVED]) == (1, 1)


def _stored_not_due(instructor, count: int) -> None:
    rows = []
    for i in range(count):
        start = NOW + timedelta(days=1 + i) if i % 2 else NOW - timedelta(days=40 + i)
        rows.append(
            TrainingSession(
                instructor=instructor,
                title=f"Stored {i}",
                start_time=start,
                duration_minutes=60,
                end_time=start + timedelta(minutes=60),
                status=SessionStatus.SCHEDULED if i % 2 else SessionStatus.ENDED,
                ended_at=None if i % 2 else start + timedelta(minutes=60),
                archived_at=None if i % 2 else start + timedelta(days=8),
                room_status=RoomStatus.PENDING if i % 2 else RoomStatus.DELETED,
            )
        )
    TrainingSession.objects.bulk_create(rows)


def test_a_run_costs_the_same_with_5_or_200_sessions_stored_that_are_not_due(
    tick, make_session, instructor
):
    _stored_not_due(instructor, 5)
    finished(make_session, title="A1", at=NOW - timedelta(days=9), **with_room(room_id="a"))
    finished(make_session, SessionStatus.CANCELED, title="A2", at=NOW - timedelta(days=10))
    with CaptureQueriesContext(connection) as small:
        first = tick(cleanup, NOW)

    _stored_not_due(instructor, 195)
    later = NOW + timedelta(days=1)
    finished(make_session, title="B1", at=later - timedelta(days=9), **with_room(room_id="b"))
    finished(make_session, SessionStatus.CANCELED, title="B2", at=later - timedelta(days=10))
    with CaptureQueriesContext(connection) as large:
        second = tick(cleanup, later)

    assert str(first) == str(second) == "cleanup: 1 rooms retired, 0 rooms retrying, 2 archived"
    assert len(small) == len(large)
