"""``/sessions/<id>/room/`` and the join and leave forms that lead in and out of it."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from sessions_app.models import (
    RecordingStatus,
    RoomParticipant,
    RoomStatus,
    SessionAttendance,
    SessionStatus,
    TrainingSession,
)
from tests.conftest import NOW, make_user
from tests.rooms.conftest import API, MEETING, TOKEN, ok
from wwmaa.models import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

PARTICIPANTS = f"{API}/meetings/{MEETING}/participants"


def room_url(session) -> str:
    return reverse("session-room", args=[session.pk])


def session_url(session) -> str:
    return reverse("session-detail", args=[session.pk])


def join_url(session) -> str:
    return reverse("session-join", args=[session.pk])


def leave_url(session) -> str:
    return reverse("session-leave", args=[session.pk])


def messages_of(response) -> list[str]:
    return [message.message for message in get_messages(response.wsgi_request)]


@pytest.fixture
def live(make_session):
    """Live since five minutes, with a local room."""
    session = make_session(
        start_time=NOW - timedelta(minutes=5),
        status=SessionStatus.LIVE,
        started_at=NOW - timedelta(minutes=5),
        room_status=RoomStatus.READY,
    )
    TrainingSession.objects.filter(pk=session.pk).update(room_id=f"local-{session.pk}")
    session.refresh_from_db()
    return session


@pytest.fixture
def seated(live, member):
    """The member is in the room."""
    return SessionAttendance.objects.create(
        session=live, user=member, joined_at=NOW, segment_started_at=NOW, last_seen_at=NOW
    )


# Who sees the room.


def test_someone_holding_a_seat_sees_the_room_and_who_is_in_it(
    client, live, seated, member, instructor, no_http
):
    SessionAttendance.objects.create(
        session=live, user=instructor, joined_at=NOW, segment_started_at=NOW
    )
    client.force_login(member)

    response = client.get(room_url(live))

    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Kata fundamentals</h1>" in page
    assert "<strong>Live</strong>" in page
    assert "Kenji Sato (instructor)" in page
    assert "mia (you)" in page
    assert f'action="{leave_url(live)}"' in page
    assert "no-store" in response["Cache-Control"]


def test_someone_who_left_sees_the_room_with_a_join_again_button(
    client, live, seated, member, no_http
):
    SessionAttendance.objects.filter(pk=seated.pk).update(segment_started_at=None, left_at=NOW)
    client.force_login(member)

    page = client.get(room_url(live)).content.decode()

    assert "Nobody is in the room." in page
    assert "Join again" in page
    assert f'action="{leave_url(live)}"' not in page


def test_someone_without_a_seat_is_told_so_with_a_way_back(client, live, member, no_http):
    client.force_login(member)

    response = client.get(room_url(live))

    assert response.status_code == 403
    page = response.content.decode()
    assert "You have not joined this session" in page
    assert f'href="{session_url(live)}">Back to the session</a>' in page
    assert f'action="{join_url(live)}"' in page  # the window is open: they may join
    assert "In the room now" not in page


def test_someone_who_may_not_join_gets_no_join_button(client, make_session, member, no_http):
    later = make_session(start_time=NOW + timedelta(hours=3))
    client.force_login(member)

    response = client.get(room_url(later))

    assert response.status_code == 403
    assert "Joining opens 10 minutes before the start." in response.content.decode()
    assert f'action="{join_url(later)}"' not in response.content.decode()


def test_a_session_the_user_may_not_see_is_not_found(client, live, public_user, no_http):
    client.force_login(public_user)

    assert client.get(room_url(live)).status_code == 404


def test_an_unknown_session_is_not_found(client, member, no_http):
    client.force_login(member)

    assert client.get("/sessions/00000000-0000-0000-0000-000000000000/room/").status_code == 404


def test_an_anonymous_visitor_is_sent_to_log_in(client, live, no_http):
    response = client.get(room_url(live))

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={room_url(live)}"


@pytest.mark.parametrize("who", ["instructor", "admin_user"])
def test_the_instructor_and_admins_see_the_room_without_a_seat(
    request, client, live, seated, no_http, who
):
    client.force_login(request.getfixturevalue(who))

    response = client.get(room_url(live))

    assert response.status_code == 200
    assert "mia" in response.content.decode()
    assert "Enter the room" in response.content.decode()


def test_a_local_recording_says_it_is_simulated(client, live, seated, member, no_http):
    TrainingSession.objects.filter(pk=live.pk).update(
        recording_enabled=True, recording_status=RecordingStatus.RECORDING
    )
    client.force_login(member)

    page = client.get(room_url(live)).content.decode()

    assert "Recording status: <strong>Recording</strong>" in page
    assert "recording is simulated" in page


def test_user_text_is_escaped(client, live, seated, member, no_http):
    TrainingSession.objects.filter(pk=live.pk).update(title="<script>alert(1)</script>")
    client.force_login(member)

    page = client.get(room_url(live)).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_room_page_reads_a_fixed_number_of_queries(
    client, live, member, django_assert_max_num_queries, no_http
):
    TrainingSession.objects.filter(pk=live.pk).update(capacity=20)
    for i in range(5):
        SessionAttendance.objects.create(
            session=live,
            user=make_user(f"m{i}", Role.MEMBER),
            joined_at=NOW,
            segment_started_at=NOW,
        )
    SessionAttendance.objects.create(
        session=live, user=member, joined_at=NOW, segment_started_at=NOW
    )
    client.force_login(member)

    # Session and user of the request, the session, the seat, the seats taken, who is in.
    with django_assert_max_num_queries(6):
        assert client.get(room_url(live)).status_code == 200


# The Cloudflare room: the UI kit with a fresh token in the page body.


@pytest.fixture
def on_cloudflare(live, cloudflare):
    TrainingSession.objects.filter(pk=live.pk).update(room_id=MEETING)
    live.refresh_from_db()
    return live


def test_the_cloudflare_room_renders_the_ui_kit_with_a_fresh_token(
    client, on_cloudflare, seated, member, wire, settings
):
    RoomParticipant.objects.remember(
        on_cloudflare, member, participant_id="p-1", role="participant"
    )
    wire.post(f"{PARTICIPANTS}/p-1/token", json=ok({"token": "tok-fresh"}))
    client.force_login(member)

    response = client.get(room_url(on_cloudflare))

    page = response.content.decode()
    assert response.status_code == 200
    assert '<rtk-meeting id="rtk-meeting"></rtk-meeting>' in page
    assert '<script id="rtk-auth-token" type="application/json">"tok-fresh"</script>' in page
    version = settings.REALTIMEKIT_UI_VERSION
    assert f"npm/@cloudflare/realtimekit-ui@{version}/loader/index.es2017.js" in page
    assert f"npm/@cloudflare/realtimekit@{version}/dist/browser.js" in page
    assert "no-store" in response["Cache-Control"]
    assert "recording is simulated" not in page


def test_a_cloudflare_room_the_provider_cannot_open_says_so_without_failing(
    client, on_cloudflare, seated, member, wire, sleeps
):
    RoomParticipant.objects.remember(
        on_cloudflare, member, participant_id="p-1", role="participant"
    )
    wire.post(f"{PARTICIPANTS}/p-1/token", status=503)
    client.force_login(member)

    response = client.get(room_url(on_cloudflare))

    assert response.status_code == 200
    assert "The video room is not ready yet" in response.content.decode()
    assert "<rtk-meeting" not in response.content.decode()


def test_an_ended_cloudflare_session_hands_out_no_token(
    client, on_cloudflare, seated, member, no_http
):
    TrainingSession.objects.filter(pk=on_cloudflare.pk).update(status=SessionStatus.ENDED)
    client.force_login(member)

    page = client.get(room_url(on_cloudflare)).content.decode()

    assert "<strong>Ended</strong>" in page
    assert "<rtk-meeting" not in page
    assert "This session has ended." in page


def test_the_token_never_appears_in_a_url_a_redirect_or_a_log(
    client, on_cloudflare, member, wire, caplog
):
    wire.post(PARTICIPANTS, json=ok({"id": "p-1", "token": "tok-first"}))
    wire.post(f"{PARTICIPANTS}/p-1/token", json=ok({"token": "tok-second"}))
    client.force_login(member)

    with caplog.at_level(logging.DEBUG):
        joined = client.post(join_url(on_cloudflare))
        page = client.get(joined["Location"])

    assert joined.status_code == 302
    assert joined["Location"] == room_url(on_cloudflare)
    assert "tok-second" in page.content.decode()  # in the page body, and only there
    for secret in ("tok-first", "tok-second", TOKEN):
        assert secret not in joined["Location"]
        assert secret not in caplog.text
        assert all(secret not in call.request.url for call in wire.calls)


# The join form.


def test_joining_by_the_form_leads_to_the_room(client, live, member, no_http):
    client.force_login(member)

    response = client.post(join_url(live))

    assert response.status_code == 302
    assert response["Location"] == room_url(live)
    assert SessionAttendance.objects.get(session=live, user=member).is_present


def test_a_refused_join_goes_back_with_the_reason(client, make_session, member, no_http):
    later = make_session(start_time=NOW + timedelta(hours=3))
    client.force_login(member)

    response = client.post(join_url(later), {"next": "/?from=card"})

    assert response.status_code == 302
    assert response["Location"] == "/?from=card"
    assert messages_of(response) == ["Joining opens 10 minutes before the start."]
    assert not SessionAttendance.objects.exists()


def test_the_refusal_is_shown_on_the_page_it_goes_back_to(client, make_session, member, no_http):
    later = make_session(start_time=NOW + timedelta(hours=3))
    client.force_login(member)

    page = client.post(join_url(later), follow=True).content.decode()

    assert "Joining opens 10 minutes before the start." in page


def test_a_join_never_goes_back_to_another_site(client, make_session, member, no_http):
    later = make_session(start_time=NOW + timedelta(hours=3))
    client.force_login(member)

    response = client.post(join_url(later), {"next": "https://evil.example/"})

    assert response["Location"] == session_url(later)


def test_an_anonymous_join_is_sent_to_log_in_and_back_to_the_room(client, live, no_http):
    response = client.post(join_url(live))

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={room_url(live)}"


def test_joining_a_session_the_user_may_not_see_is_not_found(client, live, public_user, no_http):
    client.force_login(public_user)

    assert client.post(join_url(live)).status_code == 404


def test_the_join_form_takes_only_posts(client, live, member, no_http):
    client.force_login(member)

    assert client.get(join_url(live)).status_code == 405
    assert not SessionAttendance.objects.exists()


def test_the_join_form_needs_its_csrf_token(live, member, no_http):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member)

    assert browser.post(join_url(live)).status_code == 403


# The leave form.


def test_leaving_keeps_the_seat_and_counts_the_time(client, live, seated, member, frozen, no_http):
    client.force_login(member)
    frozen.shift(timedelta(minutes=12))

    response = client.post(leave_url(live))

    assert response.status_code == 302
    assert response["Location"] == session_url(live)
    row = SessionAttendance.objects.get(pk=seated.pk)
    assert (row.segment_started_at, row.watch_time_seconds) == (None, 12 * 60)
    assert messages_of(response) == ["You left the room. Your seat is kept if you come back."]


def test_leaving_without_having_joined_says_so(client, live, member, no_http):
    client.force_login(member)

    response = client.post(leave_url(live))

    assert messages_of(response) == ["You have not joined this session."]
