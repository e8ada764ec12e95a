"""Security headers on the pages: framing, sniffing, referrers and the Content-Security-Policy."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessions_app.models import RoomParticipant, RoomStatus, SessionAttendance, SessionStatus
from tests.conftest import NOW
from tests.rooms.conftest import API, MEETING, ok

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


@pytest.mark.parametrize("path", ["/", "/events/", "/accounts/login/"])
def test_pages_send_the_security_headers(client, path):
    response = client.get(path)

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    policy = directives(response)
    assert policy["script-src"] == ["'self'"]  # no inline script, no other host
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]


@pytest.fixture
def live(make_session, member):
    session = make_session(
        start_time=NOW - timedelta(minutes=5),
        status=SessionStatus.LIVE,
        room_status=RoomStatus.READY,
        room_id=MEETING,
    )
    SessionAttendance.objects.create(
        session=session, user=member, joined_at=NOW, segment_started_at=NOW
    )
    return session


def test_the_local_room_keeps_the_strict_policy(logged_in, live, no_http):
    response = logged_in("member").get(f"/sessions/{live.pk}/room/")

    assert directives(response)["script-src"] == ["'self'"]


def test_the_cloudflare_room_allows_exactly_the_pinned_ui_kit(
    logged_in, live, member, cloudflare, wire, settings
):
    RoomParticipant.objects.remember(live, member, participant_id="p-1", role="participant")
    wire.post(f"{API}/meetings/{MEETING}/participants/p-1/token", json=ok({"token": "tok"}))

    response = logged_in("member").get(f"/sessions/{live.pk}/room/")

    version = settings.REALTIMEKIT_UI_VERSION
    assert directives(response)["script-src"] == [
        "'self'",
        f"https://cdn.jsdelivr.net/npm/@cloudflare/realtimekit-ui@{version}/",
        f"https://cdn.jsdelivr.net/npm/@cloudflare/realtimekit@{version}/",
    ]
    assert "<script>" not in response.content.decode()  # no inline script, even here


def test_no_page_has_an_inline_script(logged_in, live, event, make_session):
    make_session(event=event, start_time=NOW + timedelta(days=1))
    browser = logged_in("instructor")

    for path in ["/", "/events/", f"/events/{event.pk}/", f"/sessions/{live.pk}/", "/my/sessions/"]:
        page = browser.get(path).content.decode()
        assert "<script>" not in page, path
        assert " on" + "click=" not in page, path
