"""The room page's presence: ``POST /sessions/<id>/presence/`` (the heartbeat) and
``POST /sessions/<id>/presence/leave/`` (the goodbye beacon)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from sessions_app.models import RoomStatus, SessionAttendance, SessionStatus
from tests.conftest import NOW

pytestmark = [pytest.mark.django_db]


def heartbeat(session) -> str:
    return f"/sessions/{session.pk}/presence/"


def goodbye(session) -> str:
    return f"/sessions/{session.pk}/presence/leave/"


@pytest.fixture
def live(make_session):
    return make_session(
        start_time=NOW - timedelta(minutes=5),
        status=SessionStatus.LIVE,
        started_at=NOW - timedelta(minutes=5),
        room_status=RoomStatus.READY,
    )


@pytest.fixture
def seated(live, member):
    return SessionAttendance.objects.create(
        session=live, user=member, joined_at=NOW, segment_started_at=NOW, last_seen_at=NOW
    )


def test_a_heartbeat_keeps_the_user_present_and_tells_who_is_in(logged_in, live, seated, frozen):
    frozen.shift(timedelta(seconds=30))

    response = logged_in("member").post(heartbeat(live))

    assert response.json() == {
        "present": True,
        "status": "live",
        "status_label": "Live",
        "people": [{"name": "mia", "is_instructor": False, "is_you": True}],
    }
    assert SessionAttendance.objects.get(pk=seated.pk).last_seen_at == NOW + timedelta(seconds=30)
    assert "no-store" in response["Cache-Control"]


def test_a_heartbeat_after_leaving_says_the_user_is_no_longer_counted(
    logged_in, live, seated, frozen
):
    SessionAttendance.objects.filter(pk=seated.pk).update(segment_started_at=None, left_at=NOW)

    answer = logged_in("member").post(heartbeat(live)).json()

    assert answer["present"] is False
    assert answer["people"] == []  # only those in the room learn who else is


def test_the_instructor_learns_who_is_in_without_a_seat(logged_in, live, seated, frozen):
    answer = logged_in("instructor").post(heartbeat(live)).json()

    assert answer["present"] is False
    assert [p["name"] for p in answer["people"]] == ["mia"]


def test_an_anonymous_heartbeat_is_refused(client, live):
    response = client.post(heartbeat(live))

    assert response.status_code == 401
    assert response.json()["code"] == "login_required"


def test_a_heartbeat_for_a_session_the_user_may_not_see_is_not_found(
    logged_in, make_session, frozen
):
    hidden = make_session(is_public=False)

    assert logged_in("public_user").post(heartbeat(hidden)).status_code == 404


def test_the_heartbeat_needs_its_csrf_header(live, seated, member):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member)
    browser.get(f"/sessions/{live.pk}/room/")  # sets the CSRF cookie
    token = browser.cookies["csrftoken"].value

    assert browser.post(heartbeat(live)).status_code == 403
    assert browser.post(heartbeat(live), headers={"X-CSRFToken": token}).status_code == 200


def test_the_goodbye_beacon_closes_the_segment_with_the_token_in_its_body(
    live, seated, member, frozen
):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member)
    browser.get(f"/sessions/{live.pk}/room/")
    token = browser.cookies["csrftoken"].value
    frozen.shift(timedelta(minutes=12))

    # What navigator.sendBeacon sends: a form body, no custom header.
    response = browser.post(goodbye(live), {"csrfmiddlewaretoken": token})

    assert response.status_code == 204
    row = SessionAttendance.objects.get(pk=seated.pk)
    assert (row.segment_started_at, row.watch_time_seconds) == (None, 12 * 60)


def test_a_beacon_without_its_token_is_refused(live, seated, member):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member)

    assert browser.post(goodbye(live)).status_code == 403
    assert SessionAttendance.objects.get(pk=seated.pk).is_present


def test_a_second_goodbye_or_one_without_a_seat_changes_nothing(logged_in, live, seated, frozen):
    browser = logged_in("member")
    assert browser.post(goodbye(live)).status_code == 204
    after_first = SessionAttendance.objects.get(pk=seated.pk)

    assert browser.post(goodbye(live)).status_code == 204
    assert logged_in("other_member").post(goodbye(live)).status_code == 204

    assert SessionAttendance.objects.get(pk=seated.pk).updated_at == after_first.updated_at


def test_the_room_page_loads_the_presence_script_with_its_addresses(
    logged_in, live, seated, frozen
):
    page = logged_in("member").get(f"/sessions/{live.pk}/room/").content.decode()

    assert "/static/js/room.js" in page
    assert f'data-presence-url="/sessions/{live.pk}/presence/"' in page
    assert f'data-leave-url="/sessions/{live.pk}/presence/leave/"' in page
    assert 'data-present="true"' in page


def test_a_finished_room_reports_no_presence(logged_in, live, seated, frozen):
    live.status = SessionStatus.ENDED
    live.save()

    page = logged_in("member").get(f"/sessions/{live.pk}/room/").content.decode()

    assert 'data-finished="true"' in page
