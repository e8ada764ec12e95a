"""Every RealtimeKit call at the wire: URL, method, JSON body and Authorization header."""

from __future__ import annotations

import json

import pytest
import responses

from sessions_app.models import RecordingStatus
from sessions_app.rooms import RoomRole
from sessions_app.rooms.cloudflare import WEBHOOK_EVENTS
from tests.rooms.conftest import API, MEETING, TOKEN, ok


def sent(call: responses.Call, method: str, url: str, body: dict | None = None) -> None:
    """The request that went out is exactly this one, with our Bearer token."""
    request = call.request
    assert request.method == method
    assert request.url == url
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    if body is None:
        assert not request.body
    else:
        assert request.headers["Content-Type"] == "application/json"
        assert json.loads(request.body) == body


@pytest.fixture
def session(make_session):
    return make_session(title="Kata fundamentals", room_id=MEETING, room_status="ready")


def test_it_creates_a_meeting_for_a_session(provider, wire, make_session):
    session = make_session(title="Bo staff basics")
    wire.post(
        f"{API}/meetings",
        status=201,
        json=ok({"id": MEETING, "title": "Bo staff basics", "status": "ACTIVE"}),
    )

    room = provider.create_room(session)

    assert room.room_id == MEETING
    assert room.room_url == f"http://testserver/sessions/{session.pk}/room/"
    assert len(wire.calls) == 1
    sent(
        wire.calls[0],
        "POST",
        f"{API}/meetings",
        {"title": "Bo staff basics", "record_on_start": False},
    )


def test_it_reads_a_meeting(provider, wire):
    wire.get(f"{API}/meetings/{MEETING}", json=ok({"id": MEETING, "status": "INACTIVE"}))

    info = provider.get_room(MEETING)

    assert info.room_id == MEETING
    assert info.active is False
    sent(wire.calls[0], "GET", f"{API}/meetings/{MEETING}")


def test_it_retires_a_meeting_then_ends_its_call(provider, wire):
    wire.patch(f"{API}/meetings/{MEETING}", json=ok({"id": MEETING, "status": "INACTIVE"}))
    wire.post(
        f"{API}/meetings/{MEETING}/active-session/kick-all",
        json=ok({"action": "kick-all", "kicked_participants_count": 2}),
    )

    provider.retire_room(MEETING)

    sent(wire.calls[0], "PATCH", f"{API}/meetings/{MEETING}", {"status": "INACTIVE"})
    sent(wire.calls[1], "POST", f"{API}/meetings/{MEETING}/active-session/kick-all")


def test_retiring_keeps_the_old_name_working(provider, wire):
    wire.patch(f"{API}/meetings/{MEETING}", json=ok({"id": MEETING, "status": "INACTIVE"}))
    wire.post(f"{API}/meetings/{MEETING}/active-session/kick-all", status=404, json={})

    provider.delete_room(MEETING)

    assert [c.request.method for c in wire.calls] == ["PATCH", "POST"]


def test_retiring_a_meeting_cloudflare_no_longer_has_is_done(provider, wire):
    wire.patch(
        f"{API}/meetings/{MEETING}",
        status=404,
        json={"success": False, "error": {"code": 404, "message": "Meeting not found"}},
    )

    provider.retire_room(MEETING)

    assert len(wire.calls) == 1  # nothing to kick out of a meeting that does not exist


def test_a_refused_kick_after_retiring_is_not_a_failure(provider, wire):
    wire.patch(f"{API}/meetings/{MEETING}", json=ok({"id": MEETING, "status": "INACTIVE"}))
    wire.post(
        f"{API}/meetings/{MEETING}/active-session/kick-all",
        status=400,
        json={"success": False, "error": {"code": 400, "message": "No active session"}},
    )

    provider.retire_room(MEETING)


def test_it_ends_the_live_call(provider, wire):
    wire.post(
        f"{API}/meetings/{MEETING}/active-session/kick-all",
        json=ok({"action": "kick-all", "kicked_participants_count": 7}),
    )

    assert provider.end_call(MEETING) == 7
    sent(wire.calls[0], "POST", f"{API}/meetings/{MEETING}/active-session/kick-all")


def test_ending_when_no_call_is_live_kicks_nobody(provider, wire):
    wire.post(
        f"{API}/meetings/{MEETING}/active-session/kick-all",
        status=404,
        json={"success": False, "error": {"code": 404, "message": "No active session"}},
    )

    assert provider.end_call(MEETING) == 0


def test_it_adds_a_member_as_a_participant(provider, wire, session, member):
    member.first_name, member.last_name = "Mia", "Wong"
    wire.post(
        f"{API}/meetings/{MEETING}/participants",
        status=201,
        json=ok(
            {
                "id": "part-1",
                "token": "participant-jwt",
                "custom_participant_id": str(member.pk),
                "preset_name": "group_call_participant",
            }
        ),
    )

    credentials = provider.join_credentials(session, member, RoomRole.PARTICIPANT)

    sent(
        wire.calls[0],
        "POST",
        f"{API}/meetings/{MEETING}/participants",
        {
            "name": "Mia Wong",
            "preset_name": "group_call_participant",
            "custom_participant_id": str(member.pk),
        },
    )
    assert credentials.token == "participant-jwt"
    assert credentials.participant_id == "part-1"
    assert credentials.role == "participant"
    assert credentials.provider == "cloudflare"
    # The browser goes to our own page; the token travels in a body, never in a URL.
    assert credentials.room_url == f"http://testserver/sessions/{session.pk}/room/"
    assert "participant-jwt" not in credentials.room_url
    assert "participant-jwt" not in repr(credentials)


def test_the_instructor_gets_the_host_preset(provider, wire, session, instructor):
    wire.post(
        f"{API}/meetings/{MEETING}/participants",
        json=ok({"id": "part-host", "token": "host-jwt"}),
    )

    provider.join_credentials(session, instructor, RoomRole.HOST)

    body = json.loads(wire.calls[0].request.body)
    assert body == {
        "name": "Kenji Sato",
        "preset_name": "group_call_host",
        "custom_participant_id": str(instructor.pk),
    }
    assert "@" not in body["custom_participant_id"]


def test_a_known_participant_gets_a_fresh_token_instead_of_a_second_seat(
    provider, wire, session, member
):
    wire.post(
        f"{API}/meetings/{MEETING}/participants/part-1/token", json=ok({"token": "fresh-jwt"})
    )

    credentials = provider.join_credentials(
        session, member, RoomRole.PARTICIPANT, participant_id="part-1"
    )

    sent(wire.calls[0], "POST", f"{API}/meetings/{MEETING}/participants/part-1/token")
    assert len(wire.calls) == 1
    assert credentials.token == "fresh-jwt"
    assert credentials.participant_id == "part-1"


def test_a_participant_cloudflare_lost_is_added_again(provider, wire, session, member):
    wire.post(
        f"{API}/meetings/{MEETING}/participants/part-1/token",
        status=404,
        json={"success": False, "error": {"code": 404, "message": "Participant not found"}},
    )
    wire.post(
        f"{API}/meetings/{MEETING}/participants", json=ok({"id": "part-2", "token": "new-jwt"})
    )

    credentials = provider.join_credentials(
        session, member, RoomRole.PARTICIPANT, participant_id="part-1"
    )

    assert credentials.participant_id == "part-2"
    assert credentials.token == "new-jwt"


def test_it_starts_a_recording(provider, wire):
    wire.post(
        f"{API}/recordings",
        status=201,
        json=ok(
            {"id": "rec-1", "status": "INVOKED", "invoked_time": "2026-06-01T16:00:00Z"}
            | {"download_url": None}
        ),
    )

    recording = provider.start_recording(MEETING)

    sent(wire.calls[0], "POST", f"{API}/recordings", {"meeting_id": MEETING})
    assert recording.recording_id == "rec-1"
    assert recording.status == RecordingStatus.RECORDING
    assert recording.provider_status == "INVOKED"
    assert recording.download_url is None
    assert recording.simulated is False


def test_it_stops_a_known_recording(provider, wire):
    wire.put(f"{API}/recordings/rec-1", json=ok({"id": "rec-1", "status": "UPLOADING"}))

    recording = provider.stop_recording(MEETING, "rec-1")

    sent(wire.calls[0], "PUT", f"{API}/recordings/rec-1", {"action": "stop"})
    assert recording.status == RecordingStatus.PROCESSING


def test_it_finds_the_active_recording_when_the_id_was_lost(provider, wire):
    wire.get(
        f"{API}/recordings/active-recording/{MEETING}",
        json=ok({"id": "rec-9", "status": "RECORDING"}),
    )
    wire.put(f"{API}/recordings/rec-9", json=ok({"id": "rec-9", "status": "UPLOADING"}))

    recording = provider.stop_recording(MEETING)

    sent(wire.calls[0], "GET", f"{API}/recordings/active-recording/{MEETING}")
    sent(wire.calls[1], "PUT", f"{API}/recordings/rec-9", {"action": "stop"})
    assert recording.recording_id == "rec-9"


def test_stopping_when_nothing_records_does_nothing(provider, wire):
    wire.get(
        f"{API}/recordings/active-recording/{MEETING}",
        status=404,
        json={"success": False, "error": {"code": 404, "message": "No active recording"}},
    )

    assert provider.stop_recording(MEETING) is None
    assert len(wire.calls) == 1


def test_it_registers_the_webhook(provider, wire):
    wire.post(f"{API}/webhooks", status=201, json=ok({"id": "wh-123", "enabled": True}))

    webhook_id = provider.register_webhook(
        "https://live.example/api/webhooks/cloudflare", WEBHOOK_EVENTS
    )

    assert webhook_id == "wh-123"
    sent(
        wire.calls[0],
        "POST",
        f"{API}/webhooks",
        {
            "name": "WWMAA Live",
            "url": "https://live.example/api/webhooks/cloudflare",
            "events": [
                "meeting.started",
                "meeting.ended",
                "meeting.participantJoined",
                "meeting.participantLeft",
                "recording.statusUpdate",
            ],
            "enabled": True,
        },
    )


def test_the_base_url_can_point_at_a_proxy(cloudflare_settings, sleeps, wire):
    from sessions_app.rooms.cloudflare import CloudflareRoomProvider

    cloudflare_settings.CLOUDFLARE_API_BASE_URL = "http://fake-cloudflare.local:8787/client/v4/"
    fake = CloudflareRoomProvider(sleep=sleeps.append)
    wire.get(
        "http://fake-cloudflare.local:8787/client/v4/accounts/acc0123456789/realtime/kit/"
        f"app9876543210/meetings/{MEETING}",
        json=ok({"id": MEETING, "status": "ACTIVE"}),
    )

    assert fake.get_room(MEETING).active is True


@pytest.mark.parametrize(
    ("provider_status", "ours"),
    [
        ("INVOKED", "recording"),
        ("RECORDING", "recording"),
        ("PAUSED", "recording"),
        ("UPLOADING", "processing"),
        ("UPLOADED", "ready"),
        ("ERRORED", "failed"),
        ("SOMETHING_NEW", ""),
    ],
)
def test_recording_statuses_map_to_ours(provider_status, ours):
    from sessions_app.rooms.cloudflare import recording_status

    assert recording_status(provider_status) == ours
