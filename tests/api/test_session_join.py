"""``can-join``, ``join`` and ``leave``: the SPEC §5 answer, seats and room credentials."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessions_app.models import RoomStatus, SessionAttendance, SessionStatus
from sessions_app.rooms import RoomProviderUnavailable
from sessions_app.rooms.local import LocalRoomProvider
from tests.api.conftest import client_for, url
from tests.conftest import NOW


class TestCanJoin:
    def test_a_member_in_the_window_may_join(self, frozen, member, soon):
        response = client_for(member).get(url(soon(capacity=3), "/can-join"))

        assert response.status_code == 200
        assert response.json() == {
            "can_join": True,
            "reason": "ok",
            "message": "You can join now.",
            "opens_at": "2026-06-01T15:55:00Z",
            "seats_left": 3,
        }

    def test_an_anonymous_visitor_is_asked_to_log_in(self, frozen, anon, soon):
        response = anon.get(url(soon(is_public=True), "/can-join"))

        assert response.status_code == 200
        assert response.json()["reason"] == "login_required"
        assert response.json()["can_join"] is False

    def test_too_early_says_when_the_window_opens(self, frozen, member, make_session):
        session = make_session(start_time=NOW + timedelta(hours=1))

        data = client_for(member).get(url(session, "/can-join")).json()

        assert (data["reason"], data["opens_at"]) == ("too_early", "2026-06-01T16:50:00Z")

    def test_the_instructor_may_come_in_thirty_minutes_early(
        self, frozen, instructor, make_session
    ):
        session = make_session(start_time=NOW + timedelta(minutes=20))

        assert client_for(instructor).get(url(session, "/can-join")).json()["reason"] == "ok"

    @pytest.mark.parametrize(
        ("fields", "reason"),
        [
            ({"status": SessionStatus.CANCELED}, "canceled"),
            ({"status": SessionStatus.ENDED}, "ended"),
            ({"start_time": NOW - timedelta(hours=2)}, "too_late"),
            ({"capacity": 1}, "full"),
            ({"room_status": RoomStatus.FAILED}, "room_not_ready"),
        ],
    )
    def test_each_refusal_has_its_reason(self, frozen, member, other_member, soon, fields, reason):
        session = soon(**fields)
        SessionAttendance.objects.create(session=session, user=other_member, joined_at=NOW)

        data = client_for(member).get(url(session, "/can-join")).json()

        assert (data["can_join"], data["reason"]) == (False, reason)

    def test_a_public_account_is_told_the_session_is_for_members(self, frozen, public_user, soon):
        data = client_for(public_user).get(url(soon(is_public=True), "/can-join")).json()

        assert data["reason"] == "members_only"


class TestJoin:
    def test_joining_returns_the_room_credentials_and_takes_a_seat(self, frozen, member, soon):
        session = soon(capacity=2)

        response = client_for(member).post(url(session, "/join"))

        assert response.status_code == 200
        data = response.json()
        assert data["credentials"] == {
            "room_url": f"http://testserver/sessions/{session.pk}/room/",
            "role": "participant",
            "token": None,
            "provider": "local",
        }
        assert data["rejoined"] is False
        assert data["attendance"]["joined_at"] == "2026-06-01T16:00:00Z"
        assert data["attendance"]["present"] is True
        assert client_for(member).get(url(session)).json()["seats_left"] == 1

    def test_the_instructor_joins_as_host(self, frozen, instructor, soon):
        response = client_for(instructor).post(url(soon(), "/join"))

        assert response.json()["credentials"]["role"] == "host"

    def test_joining_again_keeps_the_seat(self, frozen, member, soon):
        session = soon(capacity=1)
        client_for(member).post(url(session, "/join"))

        response = client_for(member).post(url(session, "/join"))

        assert (response.status_code, response.json()["rejoined"]) == (200, True)

    def test_a_full_session_is_a_409_with_the_whole_answer(
        self, frozen, member, other_member, soon
    ):
        session = soon(capacity=1)
        client_for(other_member).post(url(session, "/join"))

        response = client_for(member).post(url(session, "/join"))

        assert response.status_code == 409
        assert response.json() == {
            "detail": "This session is full.",
            "code": "full",
            "can_join": {
                "can_join": False,
                "reason": "full",
                "message": "This session is full.",
                "opens_at": "2026-06-01T15:55:00Z",
                "seats_left": 0,
            },
        }

    @pytest.mark.parametrize(
        ("fields", "status", "code"),
        [
            ({"start_time": NOW + timedelta(hours=1)}, 409, "too_early"),
            ({"start_time": NOW - timedelta(hours=2)}, 409, "too_late"),
            ({"status": SessionStatus.CANCELED}, 409, "canceled"),
            ({"status": SessionStatus.ENDED}, 409, "ended"),
        ],
    )
    def test_a_refused_join_carries_the_reason_as_its_code(
        self, frozen, member, soon, fields, status, code
    ):
        response = client_for(member).post(url(soon(**fields), "/join"))

        assert (response.status_code, response.json()["code"]) == (status, code)
        assert response.json()["can_join"]["reason"] == code

    def test_a_public_account_may_not_join_a_members_only_session(self, frozen, public_user, soon):
        response = client_for(public_user).post(url(soon(is_public=True), "/join"))

        assert (response.status_code, response.json()["code"]) == (403, "members_only")

    def test_a_public_account_joins_a_public_session_open_to_all(self, frozen, public_user, soon):
        session = soon(is_public=True, members_only=False)

        assert client_for(public_user).post(url(session, "/join")).status_code == 200

    def test_a_room_the_provider_cannot_make_is_a_409_and_no_seat_is_kept(
        self, frozen, member, soon, monkeypatch
    ):
        def fail(self, session):
            raise RoomProviderUnavailable("provider down")

        monkeypatch.setattr(LocalRoomProvider, "create_room", fail)
        session = soon()

        response = client_for(member).post(url(session, "/join"))

        assert (response.status_code, response.json()["code"]) == (409, "room_not_ready")
        assert not SessionAttendance.objects.filter(session=session).exists()


class TestLeave:
    def test_leaving_closes_the_segment_and_counts_the_watch_time(self, frozen, member, soon):
        session = soon()
        client_for(member).post(url(session, "/join"))
        frozen.shift(timedelta(minutes=12))

        response = client_for(member).post(url(session, "/leave"))

        assert response.status_code == 200
        data = response.json()
        assert data["present"] is False
        assert data["left_at"] == "2026-06-01T16:12:00Z"
        assert (data["watch_time_seconds"], data["watch_minutes"]) == (720, 12.0)

    def test_leaving_twice_is_harmless(self, frozen, member, soon):
        session = soon()
        client_for(member).post(url(session, "/join"))
        client_for(member).post(url(session, "/leave"))

        assert client_for(member).post(url(session, "/leave")).status_code == 200

    def test_leaving_a_session_never_joined_is_a_409(self, frozen, member, soon):
        response = client_for(member).post(url(soon(), "/leave"))

        assert (response.status_code, response.json()["code"]) == (409, "not_joined")
