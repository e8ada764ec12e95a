"""The whole flow on the local provider, through the site as people use it: no account
anywhere, no HTTP call leaving the machine."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from sessions_app.models import (
    EndReason,
    RecordingStatus,
    RoomStatus,
    SessionAttendance,
    SessionStatus,
    TrainingSession,
)
from tests.conftest import NOW

pytestmark = pytest.mark.django_db

ADMIN = "/admin/sessions_app/trainingsession/"


def add_form(instructor, start) -> dict[str, str]:
    local = start.astimezone(instructor.zoneinfo)
    form = {
        "title": "Kata at dusk",
        "description": "Heian shodan, slowly.",
        "duration_minutes": "60",
        "capacity": "12",
        "event": "",
        "tags_text": "kata",
        "recording_enabled": "on",
        "chat_enabled": "on",
        "members_only": "on",
        "start_time_0": local.strftime("%Y-%m-%d"),
        "start_time_1": local.strftime("%H:%M:%S"),
    }
    for prefix in ("attendance", "registrations"):
        form.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    return form


def admin_action(client, action: str, session) -> None:
    response = client.post(
        ADMIN, {"action": action, "index": "0", "_selected_action": [str(session.pk)]}
    )
    assert response.status_code == 302


def test_create_join_room_leave_and_end_work_on_the_local_provider(
    frozen, instructor, member, no_http, django_capture_on_commit_callbacks
):
    teacher, student = Client(), Client()
    teacher.force_login(instructor)
    student.force_login(member)

    # The instructor schedules a recorded class in the admin; its room follows the commit.
    with django_capture_on_commit_callbacks(execute=True):
        created = teacher.post(f"{ADMIN}add/", add_form(instructor, NOW + timedelta(minutes=8)))
    assert created.status_code == 302
    session = TrainingSession.objects.get(title="Kata at dusk")
    assert (session.room_status, session.room_id) == (RoomStatus.READY, f"local-{session.pk}")
    room = reverse("session-room", args=[session.pk])
    assert session.room_url == f"http://testserver{room}"

    # Five minutes later the instructor goes live; the (simulated) recording starts.
    frozen.shift(timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        admin_action(teacher, "start_sessions", session)
    session.refresh_from_db()
    assert session.status == SessionStatus.LIVE
    assert session.recording_status == RecordingStatus.RECORDING

    # The member joins with the form and lands in the room.
    joined = student.post(reverse("session-join", args=[session.pk]))
    assert joined["Location"] == room
    page = student.get(room).content.decode()
    assert "mia (you)" in page
    assert "recording is simulated" in page
    assert "Leave the room" in page

    # Twenty minutes in the room, then the member leaves; the seat is kept.
    frozen.shift(timedelta(minutes=20))
    left = student.post(reverse("session-leave", args=[session.pk]))
    assert left.status_code == 302
    seat = SessionAttendance.objects.get(session=session, user=member)
    assert (seat.segment_started_at, seat.watch_time_seconds) == (None, 20 * 60)
    assert "Join again" in student.get(room).content.decode()

    # The member comes back for ten minutes; then the instructor ends the class.
    student.post(reverse("session-join", args=[session.pk]))
    frozen.shift(timedelta(minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        admin_action(teacher, "end_sessions", session)
    session.refresh_from_db()
    assert (session.status, session.end_reason) == (SessionStatus.ENDED, EndReason.INSTRUCTOR)
    assert session.recording_status == RecordingStatus.READY
    seat.refresh_from_db()
    assert (seat.segment_started_at, seat.watch_time_seconds) == (None, 30 * 60)

    # The room now says it is over, and lets nobody in.
    page = student.get(room).content.decode()
    assert "This session has ended." in page
    assert "Leave the room" not in page
    refused = student.post(reverse("session-join", args=[session.pk]), follow=True)
    assert "This session has ended." in refused.content.decode()
