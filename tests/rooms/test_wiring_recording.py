"""Recording: one per session, claimed before the provider is asked; the call's start
(webhook) starts it when the session's own start could not."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from responses import matchers

from sessions_app.models import RecordingStatus, RoomStatus, SessionStatus, TrainingSession
from sessions_app.services import rooms as room_service
from tests.conftest import NOW
from tests.rooms.conftest import API, MEETING, ok

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

STARTED = {"event": "meeting.started", "meeting": {"id": MEETING, "sessionId": "call-1"}}


@pytest.fixture
def live(make_session):
    return make_session(
        start_time=NOW - timedelta(minutes=5),
        status=SessionStatus.LIVE,
        started_at=NOW - timedelta(minutes=5),
        room_id=MEETING,
        room_status=RoomStatus.READY,
        recording_enabled=True,
    )


def row(session) -> TrainingSession:
    return TrainingSession.objects.get(pk=session.pk)


def test_starting_twice_makes_one_recording(live, cloudflare, wire):
    wire.post(
        f"{API}/recordings",
        json=ok({"id": "rec-1", "status": "RECORDING"}),
        match=[matchers.json_params_matcher({"meeting_id": MEETING})],
    )

    assert room_service.start_recording(live.pk) is True
    assert room_service.start_recording(live.pk) is False

    assert len(wire.calls) == 1
    assert (row(live).recording_id, row(live).recording_status) == ("rec-1", "recording")


@pytest.mark.parametrize(
    "change",
    [
        {"recording_enabled": False},
        {"status": SessionStatus.SCHEDULED},
        {"room_status": RoomStatus.PENDING, "room_id": None},
        {"recording_status": RecordingStatus.READY, "recording_id": "rec-0"},
    ],
    ids=["not-enabled", "not-live", "no-room", "already-recorded"],
)
def test_no_recording_is_started_when_it_should_not_be(live, cloudflare, no_http, change):
    TrainingSession.objects.filter(pk=live.pk).update(**change)

    assert room_service.start_recording(live.pk) is False


def test_a_start_that_timed_out_but_did_start_is_found_by_its_meeting(live, cloudflare, wire):
    wire.post(f"{API}/recordings", body=requests.ReadTimeout("no answer"))
    wire.get(
        f"{API}/recordings/active-recording/{MEETING}",
        json=ok({"id": "rec-5", "status": "RECORDING"}),
    )

    assert room_service.start_recording(live.pk) is True

    assert row(live).recording_id == "rec-5"
    assert len(wire.calls) == 2  # never a second POST /recordings


def test_stopping_when_nothing_records_changes_nothing(live, cloudflare, wire):
    TrainingSession.objects.filter(pk=live.pk).update(
        recording_id="rec-1", recording_status=RecordingStatus.RECORDING
    )
    wire.put(
        f"{API}/recordings/rec-1",
        json={"success": False, "error": {"code": 404, "message": "not found"}},
        status=404,
    )

    assert room_service.stop_recording(live.pk) is False

    assert row(live).recording_status == RecordingStatus.RECORDING


@pytest.mark.parametrize(
    ("answer", "ours"),
    [("RECORDING", "processing"), ("UPLOADING", "processing"), ("ERRORED", "failed")],
)
def test_a_stopped_recording_takes_the_status_the_provider_answers(
    live, cloudflare, wire, answer, ours
):
    TrainingSession.objects.filter(pk=live.pk).update(
        recording_id="rec-1", recording_status=RecordingStatus.RECORDING
    )
    wire.put(f"{API}/recordings/rec-1", json=ok({"id": "rec-1", "status": answer}))

    assert room_service.stop_recording(live.pk) is True

    assert row(live).recording_status == ours


def test_a_stop_never_moves_a_recording_the_webhook_made_ready_back(live, cloudflare, wire):
    TrainingSession.objects.filter(pk=live.pk).update(
        recording_id="rec-1", recording_status=RecordingStatus.RECORDING
    )

    def ready_meanwhile(request):
        TrainingSession.objects.filter(pk=live.pk).update(
            recording_status=RecordingStatus.READY, recording_url="https://r2.example/rec-1.mp4"
        )
        return (200, {}, '{"success": true, "data": {"id": "rec-1", "status": "UPLOADING"}}')

    wire.add_callback("PUT", f"{API}/recordings/rec-1", callback=ready_meanwhile)

    room_service.stop_recording(live.pk)

    assert row(live).recording_status == RecordingStatus.READY
    assert row(live).recording_url == "https://r2.example/rec-1.mp4"


# The call's start, reported by webhook.


def test_the_calls_start_starts_a_recording_that_did_not_start_with_the_session(
    live, cloudflare, webhook_settings, deliver, wire, django_capture_on_commit_callbacks
):
    wire.post(f"{API}/recordings", json=ok({"id": "rec-2", "status": "INVOKED"}))

    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(STARTED).status_code == 200

    assert len(wire.calls) == 1
    assert (row(live).recording_id, row(live).recording_status) == ("rec-2", "recording")


@pytest.mark.parametrize(
    "change",
    [
        {"recording_status": RecordingStatus.RECORDING, "recording_id": "rec-1"},
        {"status": SessionStatus.SCHEDULED},
        {"recording_enabled": False},
    ],
    ids=["already-recording", "warm-up-before-the-start", "not-enabled"],
)
def test_the_calls_start_leaves_the_recording_alone_otherwise(
    live, cloudflare, webhook_settings, deliver, no_http, django_capture_on_commit_callbacks, change
):
    TrainingSession.objects.filter(pk=live.pk).update(**change)

    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(STARTED).status_code == 200

    assert row(live).recording_status == change.get("recording_status", RecordingStatus.NONE)
