"""Every error ``code`` a client can meet, reached through the API, with its status.

One row per code: the status, and a scenario that makes the API answer it. The endpoint
files test the same refusals in context; this table is the catalogue a frontend reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from sessions_app.models import RoomStatus, SessionAttendance, SessionStatus
from sessions_app.rooms import RoomProviderUnavailable
from sessions_app.rooms.local import LocalRoomProvider
from tests.api.conftest import SESSIONS, client_for, url
from tests.conftest import NOW

START = "2026-06-02T18:00:00Z"


class World:
    """What the scenarios need: the cast, a session factory and the monkeypatch."""

    def __init__(self, cast, soon, monkeypatch):
        self.cast = cast
        self.soon = soon
        self.monkeypatch = monkeypatch

    def client(self, role: str) -> APIClient:
        return client_for(self.cast[role])


def post(client: APIClient, path: str, data=None):
    return client.post(path, data, format="json")


def overlap(w: World):
    w.soon(start_time=NOW + timedelta(hours=26))
    body = {"title": "Kata", "start_time": START, "duration_minutes": 60}
    return post(w.client("owner"), SESSIONS, body)


def session_live(w: World):
    live = w.soon(status=SessionStatus.LIVE)
    return w.client("owner").patch(url(live), {"duration_minutes": 90}, format="json")


def room_not_ready_on_start(w: World):
    w.monkeypatch.setattr(LocalRoomProvider, "create_room", _provider_down)
    return post(w.client("owner"), url(w.soon(), "/start"))


def _provider_down(self, session):
    raise RoomProviderUnavailable("down")


def full(w: World):
    session = w.soon(capacity=1)
    SessionAttendance.objects.create(session=session, user=w.cast["board_member"], joined_at=NOW)
    return post(w.client("member"), url(session, "/join"))


def csrf(w: World):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(w.cast["owner"])
    return post(browser, SESSIONS, {})


def throttled(w: World):
    w.monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "1/min")
    APIClient().get(SESSIONS)
    return APIClient().get(SESSIONS)


# fmt: off
CODES: list[tuple[str, int, Callable[[World], object]]] = [
    # Bad input
    ("invalid", 400, lambda w: post(w.client("owner"), SESSIONS, {"title": ""})),
    ("parse_error", 400, lambda w: w.client("owner").post(SESSIONS, "{", content_type="application/json")),  # noqa: E501
    ("too_large", 413, lambda w: w.client("owner").post(SESSIONS, json.dumps({"x": "x" * 3_000_000}), content_type="application/json")),  # noqa: E501
    ("unsupported_media_type", 415, lambda w: w.client("owner").post(SESSIONS, "x", content_type="text/plain")),  # noqa: E501
    ("not_acceptable", 406, lambda w: w.client("owner").get(SESSIONS, HTTP_ACCEPT="text/xml")),
    ("method_not_allowed", 405, lambda w: w.client("owner").put(SESSIONS, {}, format="json")),
    # Who is calling
    ("not_authenticated", 401, lambda w: post(APIClient(), SESSIONS, {})),
    ("token_not_valid", 401, lambda w: APIClient().get(SESSIONS, HTTP_AUTHORIZATION="Bearer x")),
    ("no_active_account", 401, lambda w: post(APIClient(), "/api/auth/token", {"username": "mia", "password": "no"})),  # noqa: E501
    ("forbidden", 403, lambda w: post(w.client("member"), SESSIONS, {})),
    ("members_only", 403, lambda w: post(w.client("public"), url(w.soon(is_public=True), "/join"))),
    ("permission_denied", 403, csrf),
    ("not_found", 404, lambda w: w.client("public").get(url(w.soon()))),
    ("throttled", 429, throttled),
    # The session's state
    ("overlap", 409, overlap),
    ("session_live", 409, session_live),
    ("session_ended", 409, lambda w: w.client("owner").patch(url(w.soon(status=SessionStatus.ENDED)), {}, format="json")),  # noqa: E501
    ("session_canceled", 409, lambda w: w.client("owner").delete(url(w.soon(status=SessionStatus.CANCELED)))),  # noqa: E501
    ("already_live", 409, lambda w: post(w.client("owner"), url(w.soon(status=SessionStatus.LIVE), "/start"))),  # noqa: E501
    ("not_live", 409, lambda w: post(w.client("owner"), url(w.soon(), "/end"))),
    ("too_early", 409, lambda w: post(w.client("owner"), url(w.soon(start_time=NOW + timedelta(hours=1)), "/start"))),  # noqa: E501
    ("too_late", 409, lambda w: post(w.client("owner"), url(w.soon(start_time=NOW - timedelta(hours=2)), "/start"))),  # noqa: E501
    ("room_not_ready", 409, room_not_ready_on_start),
    ("not_joined", 409, lambda w: post(w.client("member"), url(w.soon(), "/leave"))),
    # Join refusals: the can_join reason is the code
    ("full", 409, full),
    ("canceled", 409, lambda w: post(w.client("member"), url(w.soon(status=SessionStatus.CANCELED), "/join"))),  # noqa: E501
    ("ended", 409, lambda w: post(w.client("member"), url(w.soon(status=SessionStatus.ENDED), "/join"))),  # noqa: E501
    ("too_early", 409, lambda w: post(w.client("member"), url(w.soon(start_time=NOW + timedelta(hours=1)), "/join"))),  # noqa: E501
    ("too_late", 409, lambda w: post(w.client("member"), url(w.soon(start_time=NOW - timedelta(hours=2)), "/join"))),  # noqa: E501
    ("room_not_ready", 409, lambda w: post(w.client("member"), url(w.soon(room_status=RoomStatus.DELETED), "/join"))),  # noqa: E501
]
# fmt: on


@pytest.mark.parametrize(
    ("code", "status", "scenario"),
    [pytest.param(*row, id=f"{row[1]} {row[0]}") for row in CODES],
)
def test_each_error_code_is_reachable_with_its_status(
    frozen, cast, soon, monkeypatch, code, status, scenario
):
    response = scenario(World(cast, soon, monkeypatch))

    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
