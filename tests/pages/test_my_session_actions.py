"""The instructor's buttons: ``POST /my/sessions/<id>/start/`` and ``…/end/``, and the
attendance downloads ``/my/sessions/<id>/attendance.csv`` and ``/my/sessions/attendance.csv``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from sessions_app.models import RoomStatus, SessionAttendance, SessionStatus, TrainingSession
from tests.conftest import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def messages_of(response) -> list[str]:
    return [m.message for m in get_messages(response.wsgi_request)]


def start(session) -> str:
    return f"/my/sessions/{session.pk}/start/"


def end(session) -> str:
    return f"/my/sessions/{session.pk}/end/"


@pytest.fixture
def soon(make_session):
    return make_session(start_time=NOW + timedelta(minutes=20), room_status=RoomStatus.READY)


@pytest.fixture
def live(make_session):
    return make_session(
        start_time=NOW - timedelta(minutes=20),
        status=SessionStatus.LIVE,
        started_at=NOW - timedelta(minutes=20),
        room_status=RoomStatus.READY,
    )


def test_the_instructor_starts_their_session(logged_in, soon):
    response = logged_in("instructor").post(start(soon))

    assert response.status_code == 302
    assert response["Location"] == "/my/sessions/"
    assert TrainingSession.objects.get(pk=soon.pk).status == SessionStatus.LIVE
    assert messages_of(response) == ["“Kata fundamentals” is live."]


def test_a_start_too_early_is_refused_with_the_reason(logged_in, make_session):
    later = make_session(start_time=NOW + timedelta(hours=3))

    response = logged_in("instructor").post(start(later))

    assert TrainingSession.objects.get(pk=later.pk).status == SessionStatus.SCHEDULED
    assert messages_of(response) == [
        "The session can be started from 30 minutes before its start time."
    ]


def test_the_instructor_ends_their_session(logged_in, live, member):
    SessionAttendance.objects.create(
        session=live,
        user=member,
        joined_at=NOW - timedelta(minutes=10),
        segment_started_at=NOW - timedelta(minutes=10),
    )

    response = logged_in("instructor").post(end(live))

    live.refresh_from_db()
    assert (live.status, live.end_reason) == (SessionStatus.ENDED, "instructor")
    assert SessionAttendance.objects.get(session=live).watch_time_seconds == 600
    assert messages_of(response) == ["“Kata fundamentals” has ended."]


def test_ending_a_session_that_is_not_live_says_so(logged_in, soon):
    response = logged_in("instructor").post(end(soon))

    assert messages_of(response) == ["The session has not started."]


@pytest.mark.parametrize("who", ["other_instructor", "board_member", "member"])
def test_only_the_owner_or_an_admin_may_run_a_session(logged_in, who, soon):
    assert logged_in(who).post(start(soon)).status_code == 403
    assert TrainingSession.objects.get(pk=soon.pk).status == SessionStatus.SCHEDULED


def test_an_admin_may_start_anyones_session(logged_in, soon):
    logged_in("admin_user").post(start(soon))

    assert TrainingSession.objects.get(pk=soon.pk).status == SessionStatus.LIVE


def test_an_unknown_session_is_not_found(logged_in):
    response = logged_in("instructor").post(
        "/my/sessions/00000000-0000-0000-0000-000000000000/start/"
    )

    assert response.status_code == 404


def test_the_buttons_take_only_posts_with_their_csrf_token(soon, instructor):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(instructor)

    assert browser.get(start(soon)).status_code == 405
    assert browser.post(start(soon)).status_code == 403
    assert TrainingSession.objects.get(pk=soon.pk).status == SessionStatus.SCHEDULED


def test_an_anonymous_post_is_sent_to_log_in(client, soon):
    assert client.post(start(soon))["Location"].startswith("/accounts/login/")


# Attendance downloads.


def test_the_instructor_downloads_a_sessions_attendance(logged_in, live, member):
    SessionAttendance.objects.create(
        session=live, user=member, joined_at=NOW, watch_time_seconds=90
    )

    response = logged_in("instructor").get(f"/my/sessions/{live.pk}/attendance.csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="attendance-{live.pk}.csv"' in response["Content-Disposition"]
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == "session,session_start,name,username,joined_at,left_at,watch_minutes"
    assert lines[1].startswith("Kata fundamentals,") and lines[1].endswith(
        ",mia,mia,2026-06-01T09:00:00-07:00,,1.5"
    )


@pytest.mark.parametrize("who", ["other_instructor", "member"])
def test_others_may_not_download_it(logged_in, who, live):
    assert logged_in(who).get(f"/my/sessions/{live.pk}/attendance.csv").status_code == 404


def test_a_board_member_may_download_it(logged_in, live):
    assert (
        logged_in("board_member").get(f"/my/sessions/{live.pk}/attendance.csv").status_code == 200
    )


def test_the_instructor_downloads_all_their_attendance_at_once(
    logged_in, live, soon, member, make_session, other_instructor
):
    hers = make_session(instructor=other_instructor, start_time=NOW + timedelta(days=3))
    for session in (live, soon, hers):
        SessionAttendance.objects.create(session=session, user=member, joined_at=NOW)

    response = logged_in("instructor").get("/my/sessions/attendance.csv")

    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 3  # the header, and one row for each of the instructor's sessions


def test_a_member_has_no_attendance_to_download(logged_in):
    assert logged_in("member").get("/my/sessions/attendance.csv").status_code == 403
