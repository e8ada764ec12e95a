"""Joining hands out the provider's credentials: one participant per (session, user), the
host preset for the instructor and admins, a refreshed token on every rejoin."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from responses import matchers

from sessions_app.models import RoomParticipant, RoomStatus, SessionAttendance, SessionStatus
from sessions_app.services import Conflict, JoinRefused, Reason, join_session, leave_session
from sessions_app.services.joining import room_credentials
from tests.conftest import NOW
from tests.rooms.conftest import API, MEETING, TOKEN, ok

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

PARTICIPANTS = f"{API}/meetings/{MEETING}/participants"
AUTH = matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"})


@pytest.fixture
def live(make_session):
    return make_session(
        start_time=NOW - timedelta(minutes=5),
        status=SessionStatus.LIVE,
        started_at=NOW - timedelta(minutes=5),
        room_id=MEETING,
        room_status=RoomStatus.READY,
    )


def added(participant_id: str, token: str, user, preset: str) -> dict:
    return ok(
        {
            "id": participant_id,
            "token": token,
            "custom_participant_id": str(user.pk),
            "preset_name": preset,
        }
    )


def expect_add(wire, user, *, name: str, preset: str, participant_id="p-1", token="tok-1"):
    wire.post(
        PARTICIPANTS,
        json=added(participant_id, token, user, preset),
        status=201,
        match=[
            matchers.json_params_matcher(
                {"name": name, "preset_name": preset, "custom_participant_id": str(user.pk)}
            ),
            AUTH,
        ],
    )


def test_the_instructor_joins_with_the_host_preset(live, instructor, cloudflare, wire):
    expect_add(wire, instructor, name="Kenji Sato", preset="group_call_host")

    result = join_session(instructor, live.pk)

    assert result.credentials.role == "host"
    assert result.credentials.token == "tok-1"
    assert result.credentials.room_url == f"http://testserver/sessions/{live.pk}/room/"
    assert "tok-1" not in result.credentials.room_url


def test_an_admin_joins_with_the_host_preset(live, admin_user, cloudflare, wire):
    expect_add(wire, admin_user, name="ada", preset="group_call_host")

    assert join_session(admin_user, live.pk).credentials.role == "host"


def test_a_member_joins_with_the_participant_preset_and_the_id_is_kept(
    live, member, cloudflare, wire
):
    expect_add(wire, member, name="mia", preset="group_call_participant", participant_id="p-7")

    result = join_session(member, live.pk)

    assert result.credentials.role == "participant"
    assert result.credentials.participant_id == "p-7"
    kept = RoomParticipant.objects.get(session=live, user=member)
    assert (kept.participant_id, kept.room_id, kept.role) == ("p-7", MEETING, "participant")


def test_a_rejoin_refreshes_the_token_instead_of_adding_a_participant(
    live, member, cloudflare, wire, frozen
):
    expect_add(wire, member, name="mia", preset="group_call_participant")
    join_session(member, live.pk)
    frozen.shift(timedelta(minutes=10))
    leave_session(member, live.pk)
    frozen.shift(timedelta(minutes=5))
    wire.post(f"{PARTICIPANTS}/p-1/token", json=ok({"token": "tok-2"}), match=[AUTH])

    again = join_session(member, live.pk)

    assert [call.request.url for call in wire.calls] == [PARTICIPANTS, f"{PARTICIPANTS}/p-1/token"]
    assert again.rejoined is True
    assert (again.credentials.token, again.credentials.participant_id) == ("tok-2", "p-1")
    assert RoomParticipant.objects.filter(session=live, user=member).count() == 1
    assert SessionAttendance.objects.get(session=live, user=member).watch_time_seconds == 600


def test_a_participant_cloudflare_forgot_is_added_again_and_replaced(
    live, member, cloudflare, wire
):
    RoomParticipant.objects.remember(live, member, participant_id="p-old", role="participant")
    wire.post(
        f"{PARTICIPANTS}/p-old/token",
        json={"success": False, "error": {"code": 404, "message": "participant not found"}},
        status=404,
    )
    expect_add(wire, member, name="mia", preset="group_call_participant", participant_id="p-new")

    result = join_session(member, live.pk)

    assert result.credentials.participant_id == "p-new"
    assert RoomParticipant.objects.get(session=live, user=member).participant_id == "p-new"


def test_credentials_the_provider_cannot_issue_refuse_the_join_and_take_no_seat(
    live, member, cloudflare, wire, caplog
):
    wire.post(
        PARTICIPANTS, json={"success": False, "error": {"code": 9, "message": "no"}}, status=422
    )

    with caplog.at_level(logging.DEBUG), pytest.raises(JoinRefused) as refused:
        join_session(member, live.pk)

    assert refused.value.code == Reason.ROOM_NOT_READY
    assert not SessionAttendance.objects.exists()
    assert not RoomParticipant.objects.exists()
    assert TOKEN not in caplog.text


def test_the_local_provider_calls_nobody_and_keeps_no_participant(live, member, no_http):
    result = join_session(member, live.pk)

    assert result.credentials.token is None
    assert not RoomParticipant.objects.exists()


# Fresh credentials for the room page.


def test_the_room_page_credentials_refresh_the_token_and_change_no_attendance(
    live, member, cloudflare, wire, frozen
):
    expect_add(wire, member, name="mia", preset="group_call_participant")
    join_session(member, live.pk)
    before = SessionAttendance.objects.get(session=live, user=member)
    frozen.shift(timedelta(minutes=3))
    wire.post(f"{PARTICIPANTS}/p-1/token", json=ok({"token": "tok-3"}))

    credentials = room_credentials(member, live.pk)

    assert credentials.token == "tok-3"
    after = SessionAttendance.objects.get(session=live, user=member)
    assert (after.segment_started_at, after.last_seen_at) == (
        before.segment_started_at,
        before.last_seen_at,
    )


def test_no_room_credentials_without_a_seat(live, member, cloudflare, no_http):
    with pytest.raises(Conflict) as refused:
        room_credentials(member, live.pk)

    assert refused.value.code == "not_joined"


def test_no_room_credentials_once_the_session_ended(live, member, cloudflare, no_http):
    SessionAttendance.objects.create(session=live, user=member, joined_at=NOW)
    live.status = SessionStatus.ENDED
    live.save(update_fields=["status"])

    with pytest.raises(JoinRefused) as refused:
        room_credentials(member, live.pk)

    assert refused.value.code == Reason.ENDED
