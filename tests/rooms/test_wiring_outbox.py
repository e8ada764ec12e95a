"""The room and recording write paths keep the ZeroDB mirror in step: each changed row
gets exactly one pending outbox entry, and the functions that write no mirrored row queue
nothing (the same check as ``tests/storage/test_write_paths.py``, for this wiring)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from sessions_app.models import RecordingStatus, RoomStatus, SessionAttendance, SessionStatus
from sessions_app.services import rooms as room_service
from sessions_app.services.joining import open_segment, room_credentials
from sessions_app.storage.models import OutboxEntry
from tests.conftest import NOW
from tests.storage.support import API_KEY, BASE, PROJECT, changed_rows, mirror_snapshot, pending

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen", "no_http")]


@pytest.fixture(autouse=True)
def mirror_on(settings):
    settings.ZERODB_API_KEY = API_KEY
    settings.ZERODB_PROJECT_ID = PROJECT
    settings.ZERODB_API_BASE_URL = BASE


@pytest.fixture
def live(make_session):
    session = make_session(
        start_time=NOW - timedelta(minutes=5),
        status=SessionStatus.LIVE,
        started_at=NOW - timedelta(minutes=5),
        room_status=RoomStatus.READY,
        recording_enabled=True,
    )
    session.room_id = f"local-{session.pk}"
    session.save(update_fields=["room_id"])
    return session


def changes_of(act, frozen) -> Counter:
    """Run ``act``; check one pending entry per changed row; count changed rows per table."""
    OutboxEntry.objects.all().delete()
    frozen.shift(timedelta(seconds=1))
    before = mirror_snapshot()
    act()
    changed = changed_rows(before, mirror_snapshot())
    assert pending() == Counter(dict.fromkeys(changed, 1))
    return Counter(table for table, _ in changed)


def test_the_room_task_queues_its_session(make_session, frozen):
    session = make_session()

    assert changes_of(lambda: room_service.create_room_task(session.pk), frozen) == {
        "training_sessions": 1
    }


def test_starting_a_recording_queues_its_session_once(live, frozen):
    def start():
        room_service.start_recording(live.pk)  # the claim, then the recording's id

    assert changes_of(start, frozen) == {"training_sessions": 1}


def test_stopping_a_recording_queues_its_session(live, frozen):
    room_service.start_recording(live.pk)
    live.refresh_from_db()
    assert live.recording_status == RecordingStatus.RECORDING

    assert changes_of(lambda: room_service.stop_recording(live.pk), frozen) == {
        "training_sessions": 1
    }


def test_opening_a_segment_queues_the_attendance_row(live, member, frozen):
    seat = SessionAttendance.objects.create(session=live, user=member, joined_at=NOW)

    assert changes_of(lambda: open_segment(seat, NOW), frozen) == {"session_attendance": 1}


def test_fresh_room_credentials_change_no_mirrored_row(live, member, frozen):
    SessionAttendance.objects.create(session=live, user=member, joined_at=NOW)

    assert changes_of(lambda: room_credentials(member, live.pk), frozen) == {}
