"""Cancel (``DELETE``), ``start`` and ``end``: each an atomic transition, 409 when refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessions_app.models import EndReason, RoomStatus, SessionAttendance, SessionStatus
from sessions_app.rooms import RoomProviderUnavailable
from sessions_app.rooms.local import LocalRoomProvider
from tests.api.conftest import client_for, url
from tests.conftest import NOW


@pytest.fixture
def live(make_session):
    return make_session(
        status=SessionStatus.LIVE,
        start_time=NOW - timedelta(minutes=10),
        started_at=NOW - timedelta(minutes=10),
        room_status=RoomStatus.READY,
        room_id="local-x",
    )


class TestCancel:
    def test_canceling_keeps_the_row_and_answers_it(self, frozen, instructor, soon, member):
        session = soon()

        response = client_for(instructor).delete(url(session))

        assert response.status_code == 200
        assert response.json()["status"] == "canceled"
        assert response.json()["canceled_at"] == "2026-06-01T16:00:00Z"
        again = client_for(member).get(url(session))
        assert (again.status_code, again.json()["status"]) == (200, "canceled")

    def test_canceling_twice_is_a_409(self, frozen, board_member, soon):
        session = soon()
        client_for(board_member).delete(url(session))

        response = client_for(board_member).delete(url(session))

        assert response.status_code == 409
        assert response.json() == {
            "detail": "The session was canceled.",
            "code": "session_canceled",
            "status": "canceled",
        }

    def test_a_live_session_cannot_be_canceled(self, frozen, instructor, live):
        response = client_for(instructor).delete(url(live))

        assert (response.status_code, response.json()["code"]) == (409, "already_live")


class TestStart:
    def test_the_owner_starts_a_session_in_its_window(self, frozen, instructor, soon):
        session = soon()

        response = client_for(instructor).post(url(session, "/start"))

        assert response.status_code == 200
        data = response.json()
        assert (data["status"], data["started_at"]) == ("live", "2026-06-01T16:00:00Z")
        assert data["room_status"] == "ready"

    def test_starting_more_than_thirty_minutes_early_is_a_409(
        self, frozen, instructor, make_session
    ):
        session = make_session(start_time=NOW + timedelta(minutes=31))

        response = client_for(instructor).post(url(session, "/start"))

        assert response.status_code == 409
        assert response.json()["code"] == "too_early"
        assert response.json()["opens_at"] == (NOW + timedelta(minutes=1)).isoformat()

    def test_starting_after_the_end_is_a_409(self, frozen, admin_user, make_session):
        session = make_session(start_time=NOW - timedelta(hours=2))

        response = client_for(admin_user).post(url(session, "/start"))

        assert (response.status_code, response.json()["code"]) == (409, "too_late")

    def test_starting_twice_is_a_409(self, frozen, instructor, live):
        response = client_for(instructor).post(url(live, "/start"))

        assert (response.status_code, response.json()["code"]) == (409, "already_live")

    def test_a_room_that_cannot_be_created_is_a_409(self, frozen, instructor, soon, monkeypatch):
        def fail(self, session):
            raise RoomProviderUnavailable("provider down")

        monkeypatch.setattr(LocalRoomProvider, "create_room", fail)
        session = soon()

        response = client_for(instructor).post(url(session, "/start"))

        assert (response.status_code, response.json()["code"]) == (409, "room_not_ready")
        session.refresh_from_db()
        assert session.status == SessionStatus.SCHEDULED


class TestEnd:
    def test_the_owner_ends_a_live_session_and_open_attendance_closes(
        self, frozen, instructor, live, member
    ):
        SessionAttendance.objects.create(
            session=live,
            user=member,
            joined_at=NOW - timedelta(minutes=5),
            segment_started_at=NOW - timedelta(minutes=5),
        )

        response = client_for(instructor).post(url(live, "/end"))

        assert response.status_code == 200
        data = response.json()
        assert (data["status"], data["end_reason"]) == ("ended", EndReason.INSTRUCTOR)
        row = SessionAttendance.objects.get(session=live, user=member)
        assert (row.left_at, row.watch_time_seconds) == (NOW, 300)

    def test_an_admin_ending_it_is_recorded_as_such(self, frozen, admin_user, live):
        response = client_for(admin_user).post(url(live, "/end"))

        assert response.json()["end_reason"] == EndReason.ADMIN

    def test_ending_a_session_that_is_not_live_is_a_409(self, frozen, instructor, soon):
        response = client_for(instructor).post(url(soon(), "/end"))

        assert (response.status_code, response.json()["code"]) == (409, "not_live")

    def test_ending_twice_is_a_409(self, frozen, instructor, live):
        client_for(instructor).post(url(live, "/end"))

        response = client_for(instructor).post(url(live, "/end"))

        assert (response.status_code, response.json()["code"]) == (409, "session_ended")
