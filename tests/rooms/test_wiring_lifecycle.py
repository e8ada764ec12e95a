"""The room follows the session: created after a create commits, recorded while live,
its call ended with the session, retired on cancel; the provider never blocks a change."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.db import transaction
from responses import matchers

from sessions_app import services
from sessions_app.models import RecordingStatus, RoomStatus, SessionStatus, TrainingSession
from sessions_app.services import rooms as room_service
from tests.conftest import NOW
from tests.rooms.conftest import API, MEETING, TOKEN, ok

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

AUTH = matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"})


def payload(**overrides) -> dict:
    data = {"title": "Kata fundamentals", "start_time": NOW + timedelta(hours=2)}
    data.update(duration_minutes=60, **overrides)
    return data


def row(session) -> TrainingSession:
    return TrainingSession.objects.get(pk=session.pk)


@pytest.fixture
def soon(make_session):
    """Starts in five minutes: the instructor may start it now."""
    return make_session(start_time=NOW + timedelta(minutes=5), recording_enabled=True)


@pytest.fixture
def live(make_session):
    return make_session(
        start_time=NOW - timedelta(minutes=5),
        status=SessionStatus.LIVE,
        started_at=NOW - timedelta(minutes=5),
        room_id=MEETING,
        room_url="http://testserver/room/",
        room_status=RoomStatus.READY,
        recording_enabled=True,
    )


# Create.


def test_the_room_is_created_only_after_the_create_commits(
    instructor, no_http, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        session = services.create_session(instructor, payload())
        # Still inside the request: nothing has asked for a room yet.
        assert row(session).room_status == RoomStatus.PENDING

    created = row(session)
    assert created.room_status == RoomStatus.READY
    assert created.room_id == f"local-{session.pk}"
    assert created.room_url == f"http://testserver/sessions/{session.pk}/room/"


def test_a_create_that_rolls_back_queues_no_room(
    instructor, no_http, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.create_session(instructor, payload())
        raise RuntimeError("the request failed after the create")

    assert callbacks == []
    assert not TrainingSession.objects.exists()


def test_with_cloudflare_the_create_posts_one_meeting(
    instructor, cloudflare, wire, django_capture_on_commit_callbacks
):
    wire.post(
        f"{API}/meetings",
        json=ok({"id": MEETING, "title": "Kata fundamentals", "status": "ACTIVE"}),
        status=201,
        match=[
            matchers.json_params_matcher({"title": "Kata fundamentals", "record_on_start": False}),
            AUTH,
        ],
    )

    with django_capture_on_commit_callbacks(execute=True):
        session = services.create_session(instructor, payload())

    assert len(wire.calls) == 1
    created = row(session)
    assert (created.room_id, created.room_status) == (MEETING, RoomStatus.READY)
    assert created.room_url == f"http://testserver/sessions/{session.pk}/room/"


@pytest.mark.parametrize(
    ("status", "attempts"), [(400, 1), (401, 1), (503, 4)], ids=["rejected", "bad-token", "down"]
)
def test_a_failing_provider_leaves_the_room_pending_and_the_create_succeeds(
    instructor, cloudflare, wire, sleeps, django_capture_on_commit_callbacks, status, attempts
):
    wire.post(
        f"{API}/meetings",
        json={"success": False, "error": {"code": 1, "message": "no"}},
        status=status,
    )

    with django_capture_on_commit_callbacks(execute=True):
        session = services.create_session(instructor, payload())

    assert len(wire.calls) == attempts
    assert len(sleeps) == attempts - 1  # back-off waits, recorded and never slept
    created = row(session)
    assert created.status == SessionStatus.SCHEDULED
    assert (created.room_id, created.room_status) == (None, RoomStatus.PENDING)


def test_a_broker_that_cannot_take_the_task_never_fails_the_create(
    instructor, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(room_service, "enqueue", broker_down)

    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        session = services.create_session(instructor, payload())

    assert row(session).room_status == RoomStatus.PENDING
    assert "broker down" in caplog.text


def test_the_room_task_leaves_a_canceled_session_without_a_room(instructor, make_session, no_http):
    session = make_session(status=SessionStatus.CANCELED, canceled_at=NOW)

    assert room_service.create_room_task(session.pk) == "no room needed"
    assert row(session).room_status == RoomStatus.PENDING


def test_the_room_task_run_twice_makes_one_room(make_session, cloudflare, wire):
    wire.post(f"{API}/meetings", json=ok({"id": MEETING}))
    session = make_session()

    assert room_service.create_room_task(session.pk) == "room ready"
    assert room_service.create_room_task(session.pk) == "room already ready"
    assert len(wire.calls) == 1


# Start.


def test_starting_with_recording_enabled_starts_a_local_recording(
    instructor, soon, no_http, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.start_session(instructor, soon.pk)

    started = row(soon)
    assert started.status == SessionStatus.LIVE
    assert started.recording_status == RecordingStatus.RECORDING
    assert started.recording_id.startswith("local-rec-")


def test_starting_with_cloudflare_creates_the_room_then_starts_recording_at_the_wire(
    instructor, soon, cloudflare, wire, django_capture_on_commit_callbacks
):
    wire.post(f"{API}/meetings", json=ok({"id": MEETING}), match=[AUTH])
    wire.post(
        f"{API}/recordings",
        json=ok({"id": "rec-1", "status": "INVOKED", "download_url": None}),
        match=[matchers.json_params_matcher({"meeting_id": MEETING}), AUTH],
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.start_session(instructor, soon.pk)

    assert [call.request.url for call in wire.calls] == [f"{API}/meetings", f"{API}/recordings"]
    started = row(soon)
    assert (started.recording_id, started.recording_status) == ("rec-1", RecordingStatus.RECORDING)


def test_starting_without_recording_enabled_records_nothing(
    instructor, make_session, no_http, django_capture_on_commit_callbacks
):
    session = make_session(start_time=NOW + timedelta(minutes=5))

    with django_capture_on_commit_callbacks(execute=True):
        services.start_session(instructor, session.pk)

    assert row(session).recording_status == RecordingStatus.NONE


def test_a_recording_the_provider_refuses_leaves_the_session_live_and_unrecorded(
    instructor, soon, cloudflare, wire, django_capture_on_commit_callbacks
):
    wire.post(f"{API}/meetings", json=ok({"id": MEETING}))
    wire.post(
        f"{API}/recordings",
        json={"success": False, "error": {"code": 2, "message": "no one in the meeting"}},
        status=400,
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.start_session(instructor, soon.pk)

    started = row(soon)
    assert started.status == SessionStatus.LIVE
    # Undone, so that the call's start (webhook) tries again.
    assert (started.recording_id, started.recording_status) == (None, RecordingStatus.NONE)


# End.


def test_ending_stops_the_recording_then_kicks_everyone_out(
    instructor, live, cloudflare, wire, django_capture_on_commit_callbacks
):
    TrainingSession.objects.filter(pk=live.pk).update(
        recording_id="rec-1", recording_status=RecordingStatus.RECORDING
    )
    wire.put(
        f"{API}/recordings/rec-1",
        json=ok({"id": "rec-1", "status": "UPLOADING"}),
        match=[matchers.json_params_matcher({"action": "stop"}), AUTH],
    )
    wire.post(
        f"{API}/meetings/{MEETING}/active-session/kick-all",
        json=ok({"action": "kick-all", "kicked_participants_count": 3}),
        match=[AUTH],
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.end_session(instructor, live.pk)

    assert [call.request.method for call in wire.calls] == ["PUT", "POST"]
    ended = row(live)
    assert ended.status == SessionStatus.ENDED
    assert (ended.recording_id, ended.recording_status) == ("rec-1", RecordingStatus.PROCESSING)


def test_a_recording_whose_id_was_lost_is_found_by_its_meeting_and_stopped(
    instructor, live, cloudflare, wire, django_capture_on_commit_callbacks
):
    wire.get(
        f"{API}/recordings/active-recording/{MEETING}",
        json=ok({"id": "rec-9", "status": "RECORDING"}),
    )
    wire.put(f"{API}/recordings/rec-9", json=ok({"id": "rec-9", "status": "RECORDING"}))
    wire.post(
        f"{API}/meetings/{MEETING}/active-session/kick-all",
        json=ok({"kicked_participants_count": 1}),
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.end_session(instructor, live.pk)

    ended = row(live)
    # Stopped, so no longer recording: processing until the webhook brings the file.
    assert (ended.recording_id, ended.recording_status) == ("rec-9", RecordingStatus.PROCESSING)


def test_ending_without_recording_only_kicks_everyone_out(
    instructor, live, cloudflare, wire, django_capture_on_commit_callbacks
):
    TrainingSession.objects.filter(pk=live.pk).update(recording_enabled=False)
    wire.post(
        f"{API}/meetings/{MEETING}/active-session/kick-all",
        json=ok({"kicked_participants_count": 0}),
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.end_session(instructor, live.pk)

    assert len(wire.calls) == 1


def test_a_provider_failure_at_the_end_is_logged_and_the_session_ends_all_the_same(
    instructor, live, cloudflare, wire, sleeps, caplog, django_capture_on_commit_callbacks
):
    TrainingSession.objects.filter(pk=live.pk).update(recording_enabled=False)
    wire.post(f"{API}/meetings/{MEETING}/active-session/kick-all", status=502)

    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        ended = services.end_session(instructor, live.pk)

    assert ended.status == SessionStatus.ENDED
    assert len(wire.calls) == 4
    assert "Ending the call" in caplog.text
    assert TOKEN not in caplog.text


def test_ending_a_local_session_makes_its_simulated_recording_ready(
    instructor, live, no_http, django_capture_on_commit_callbacks
):
    TrainingSession.objects.filter(pk=live.pk).update(
        room_id=f"local-{live.pk}", recording_id="local-rec-1", recording_status="recording"
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.end_session(instructor, live.pk)

    assert row(live).recording_status == RecordingStatus.READY
    assert row(live).recording_url is None


def test_the_auto_end_of_a_session_that_never_started_calls_nobody(
    make_session, cloudflare, no_http, django_capture_on_commit_callbacks
):
    session = make_session(
        start_time=NOW - timedelta(hours=2), room_id=MEETING, room_status="ready"
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.finish_session(session.pk, from_status="scheduled", reason="not_started", now=NOW)

    assert row(session).status == SessionStatus.ENDED


# Cancel.


def test_canceling_retires_the_meeting_after_the_cancel_commits(
    instructor, make_session, cloudflare, wire, django_capture_on_commit_callbacks
):
    session = make_session(room_id=MEETING, room_status=RoomStatus.READY)
    wire.patch(
        f"{API}/meetings/{MEETING}",
        json=ok({"id": MEETING, "status": "INACTIVE"}),
        match=[matchers.json_params_matcher({"status": "INACTIVE"}), AUTH],
    )
    wire.post(
        f"{API}/meetings/{MEETING}/active-session/kick-all",
        json={"success": False, "error": {"code": 404, "message": "no active session"}},
        status=404,
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_session(instructor, session.pk)
        assert len(wire.calls) == 0  # not while the cancel's transaction is open

    assert [call.request.method for call in wire.calls] == ["PATCH", "POST"]
    canceled = row(session)
    assert (canceled.status, canceled.room_status) == (SessionStatus.CANCELED, RoomStatus.DELETED)


def test_a_provider_failure_never_blocks_a_cancel(
    instructor, make_session, cloudflare, wire, django_capture_on_commit_callbacks
):
    session = make_session(room_id=MEETING, room_status=RoomStatus.READY)
    wire.patch(f"{API}/meetings/{MEETING}", status=500)

    with django_capture_on_commit_callbacks(execute=True):
        canceled = services.cancel_session(instructor, session.pk)

    assert canceled.status == SessionStatus.CANCELED
    assert len(wire.calls) == 4
    # Still ready: the cleanup job retires it later.
    assert row(session).room_status == RoomStatus.READY


def test_canceling_a_session_whose_room_is_pending_calls_nobody(
    instructor, make_session, cloudflare, no_http, django_capture_on_commit_callbacks
):
    session = make_session()

    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_session(instructor, session.pk)

    assert row(session).room_status == RoomStatus.PENDING
