"""What each verified webhook event changes, and what it leaves alone."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from sessions_app.models import (
    RoomCall,
    SessionAttendance,
    SessionStatus,
    TrainingSession,
    WebhookDelivery,
)
from sessions_app.webhooks import process_delivery
from tests.conftest import NOW
from tests.rooms.conftest import API, MEETING, ok

pytestmark = pytest.mark.django_db


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def joined(user, at, meeting=MEETING) -> dict:
    return {
        "event": "meeting.participantJoined",
        "meeting": {"id": meeting},
        "participant": {
            "peerId": f"peer-{user.pk}",
            "userDisplayName": user.display_name,
            "customParticipantId": str(user.pk),
            "joinedAt": iso(at),
        },
    }


def left(user, joined_at, at, meeting=MEETING) -> dict:
    return {
        "event": "meeting.participantLeft",
        "meeting": {"id": meeting},
        "participant": {
            "peerId": f"peer-{user.pk}",
            "customParticipantId": str(user.pk),
            "joinedAt": iso(joined_at),
            "leftAt": iso(at),
        },
    }


def recording(status: str, rec_id: str = "rec-1", url: str | None = None) -> dict:
    return {
        "event": "recording.statusUpdate",
        "recording": {
            "id": rec_id,
            "status": status,
            "downloadUrl": url,
            "meetingId": MEETING,
            "startedTime": iso(NOW),
            "stoppedTime": None,
            "recordingDuration": 0,
        },
    }


@pytest.fixture
def live(make_session, frozen):
    return make_session(
        start_time=NOW - timedelta(minutes=5),
        status=SessionStatus.LIVE,
        started_at=NOW - timedelta(minutes=5),
        room_id=MEETING,
        room_status="ready",
    )


@pytest.fixture
def sent(webhook_settings, deliver):
    """Deliver each payload as a separate, correctly signed delivery; all must be 200."""

    def send(*payloads):
        for payload in payloads:
            assert deliver(payload).status_code == 200

    return send


# Attendance.


def test_a_join_opens_the_attendance_row(live, sent, member):
    sent(joined(member, NOW))

    row = SessionAttendance.objects.get(session=live, user=member)
    assert row.joined_at == NOW
    assert row.segment_started_at == NOW
    assert row.left_at is None


def test_a_leave_closes_it_with_the_watch_time(live, sent, member):
    sent(joined(member, NOW), left(member, NOW, NOW + timedelta(minutes=10)))

    row = SessionAttendance.objects.get(session=live, user=member)
    assert row.watch_time_seconds == 600
    assert row.left_at == NOW + timedelta(minutes=10)
    assert row.segment_started_at is None


def test_join_leave_rejoin_leave_is_one_row_with_the_time_summed(live, sent, member):
    sent(
        joined(member, NOW),
        left(member, NOW, NOW + timedelta(minutes=10)),
        joined(member, NOW + timedelta(minutes=20)),
        left(member, NOW + timedelta(minutes=20), NOW + timedelta(minutes=35)),
    )

    row = SessionAttendance.objects.get(session=live, user=member)
    assert SessionAttendance.objects.filter(session=live).count() == 1
    assert row.joined_at == NOW
    assert row.left_at == NOW + timedelta(minutes=35)
    assert row.watch_time_seconds == 600 + 900


def test_a_join_through_our_page_and_its_webhook_count_once(live, sent, member, wire):
    from sessions_app import services

    wire.post(f"{API}/meetings/{MEETING}/participants", json=ok({"id": "p-1", "token": "t"}))
    services.join_session(user=member, session_id=live.pk)
    sent(joined(member, NOW - timedelta(seconds=3)))  # Cloudflare saw it a moment earlier
    sent(left(member, NOW, NOW + timedelta(minutes=10)))

    row = SessionAttendance.objects.get(session=live, user=member)
    assert row.watch_time_seconds == 600
    assert row.joined_at == NOW


def test_a_late_leave_of_an_earlier_segment_does_not_close_the_present_one(live, sent, member):
    sent(
        joined(member, NOW + timedelta(minutes=20)),
        left(member, NOW, NOW + timedelta(minutes=10)),  # delivered late
    )

    row = SessionAttendance.objects.get(session=live, user=member)
    assert row.segment_started_at == NOW + timedelta(minutes=20)
    assert row.watch_time_seconds == 0


def test_a_late_join_after_its_leave_does_not_reopen_the_row(live, sent, member):
    sent(
        joined(member, NOW),
        left(member, NOW, NOW + timedelta(minutes=10)),
        joined(member, NOW),  # the same join again, under another delivery id
    )

    row = SessionAttendance.objects.get(session=live, user=member)
    assert row.segment_started_at is None
    assert row.watch_time_seconds == 600


def test_a_leave_without_a_join_changes_nothing(live, sent, member):
    sent(left(member, NOW, NOW + timedelta(minutes=10)))

    assert not SessionAttendance.objects.exists()


def test_a_join_after_the_session_ended_is_ignored(live, sent, member):
    TrainingSession.objects.filter(pk=live.pk).update(status=SessionStatus.ENDED, ended_at=NOW)

    sent(joined(member, NOW + timedelta(minutes=1)))

    assert not SessionAttendance.objects.exists()


@pytest.mark.parametrize("participant_id", ["999999", "not-a-number", "", None])
def test_an_unknown_participant_is_logged_and_ignored(live, sent, member, caplog, participant_id):
    payload = joined(member, NOW)
    payload["participant"]["customParticipantId"] = participant_id

    with caplog.at_level(logging.WARNING, logger="sessions_app.webhooks"):
        sent(payload)

    assert not SessionAttendance.objects.exists()
    assert "unknown participant" in caplog.text
    assert WebhookDelivery.objects.get().outcome == "ignored: unknown room or user"


def test_a_participant_of_an_unknown_meeting_is_logged_and_ignored(live, sent, member, caplog):
    with caplog.at_level(logging.WARNING, logger="sessions_app.webhooks"):
        sent(joined(member, NOW, meeting="some-other-meeting"))

    assert not SessionAttendance.objects.exists()
    assert "unknown room" in caplog.text


def test_the_same_delivery_twice_counts_once(live, deliver, webhook_settings, member):
    deliver(joined(member, NOW), uuid="a")
    deliver(left(member, NOW, NOW + timedelta(minutes=10)), uuid="b")
    deliver(left(member, NOW, NOW + timedelta(minutes=10)), uuid="b")

    assert SessionAttendance.objects.get().watch_time_seconds == 600
    assert WebhookDelivery.objects.count() == 2


# Calls.


def test_a_started_call_is_recorded(live, sent):
    sent(
        {
            "event": "meeting.started",
            "meeting": {
                "id": MEETING,
                "sessionId": "call-1",
                "title": "Kata",
                "status": "LIVE",
                "createdAt": iso(NOW),
                "startedAt": iso(NOW + timedelta(minutes=1)),
            },
        }
    )

    call = RoomCall.objects.get()
    assert call.session == live
    assert call.call_id == "call-1"
    assert call.started_at == NOW + timedelta(minutes=1)
    assert call.ended_at is None


def test_the_same_call_started_twice_is_one_call(live, sent):
    started = {"event": "meeting.started", "meeting": {"id": MEETING, "sessionId": "call-1"}}

    sent(started, started)

    assert RoomCall.objects.count() == 1


def test_a_call_that_emptied_is_recorded_and_the_session_stays_live(live, sent):
    sent(
        {"event": "meeting.started", "meeting": {"id": MEETING, "sessionId": "call-1"}},
        {
            "event": "meeting.ended",
            "meeting": {"id": MEETING, "endedAt": iso(NOW + timedelta(minutes=30))},
            "reason": "ALL_PARTICIPANTS_LEFT",
        },
    )

    call = RoomCall.objects.get()
    assert call.ended_at == NOW + timedelta(minutes=30)
    assert call.end_reason == "ALL_PARTICIPANTS_LEFT"
    live.refresh_from_db()
    assert live.status == SessionStatus.LIVE
    assert live.ended_at is None


def test_an_end_whose_start_never_came_is_still_recorded(live, sent):
    sent({"event": "meeting.ended", "meeting": {"id": MEETING}, "reason": "HOST_ENDED"})

    call = RoomCall.objects.get()
    assert call.ended_at == NOW
    assert call.started_at is None


# Recordings.


@pytest.mark.parametrize(
    ("status", "ours"),
    [
        ("INVOKED", "recording"),
        ("RECORDING", "recording"),
        ("PAUSED", "recording"),
        ("UPLOADING", "processing"),
        ("ERRORED", "failed"),
    ],
)
def test_recording_updates_follow_our_statuses(live, sent, status, ours):
    sent(recording(status))

    live.refresh_from_db()
    assert live.recording_id == "rec-1"
    assert live.recording_status == ours
    assert live.recording_url is None


def test_an_uploaded_recording_is_ready_with_its_link(live, sent):
    sent(
        recording("RECORDING"),
        recording("UPLOADING"),
        recording("UPLOADED", url="https://r2.example/rec-1.mp4?sig=abc"),
    )

    live.refresh_from_db()
    assert live.recording_status == "ready"
    assert live.recording_url == "https://r2.example/rec-1.mp4?sig=abc"


def test_a_late_update_never_moves_a_recording_back(live, sent):
    sent(recording("UPLOADED", url="https://r2.example/rec-1.mp4"), recording("RECORDING"))

    live.refresh_from_db()
    assert live.recording_status == "ready"
    assert live.recording_url == "https://r2.example/rec-1.mp4"


def test_a_new_recording_takes_the_sessions_slot(live, sent):
    sent(recording("UPLOADED", url="https://r2.example/rec-1.mp4"), recording("INVOKED", "rec-2"))

    live.refresh_from_db()
    assert live.recording_id == "rec-2"
    assert live.recording_status == "recording"
    assert live.recording_url is None


def test_a_recording_of_an_unknown_meeting_is_ignored(live, sent, caplog):
    payload = recording("UPLOADED", url="https://r2.example/x.mp4")
    payload["recording"]["meetingId"] = "elsewhere"

    sent(payload)

    live.refresh_from_db()
    assert live.recording_status == "none"


def test_an_unknown_recording_status_changes_nothing(live, sent):
    sent(recording("TRANSCODING"))

    live.refresh_from_db()
    assert live.recording_status == "none"


# Delivery bookkeeping.


def test_an_event_we_do_not_subscribe_to_is_acknowledged(live, sent):
    sent({"event": "meeting.chatSynced", "meeting": {"id": MEETING}})

    assert WebhookDelivery.objects.get().outcome == "ignored: meeting.chatSynced is not handled"


def test_a_delivery_is_handled_once_however_often_the_task_runs(live, sent, member):
    sent(joined(member, NOW), left(member, NOW, NOW + timedelta(minutes=10)))
    leave = WebhookDelivery.objects.get(event="meeting.participantLeft")

    assert process_delivery(str(leave.pk)) == "already handled"
    assert SessionAttendance.objects.get().watch_time_seconds == 600
