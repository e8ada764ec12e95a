"""Who may call what: every endpoint of SPEC §9 × every role of SPEC §1, as one table.

The sessions, all taught by the owner, with the clock frozen five minutes before ``hidden``
starts:

* ``hidden``: scheduled, not public, members only — the default, invisible to anonymous
  visitors and ``public`` accounts, so they get 404 as if it did not exist;
* ``open``: scheduled (in ten minutes), public, members only — everyone sees it, a
  ``public`` account cannot join or register (403);
* ``live``: live, not public, and every logged-in user already holds a seat in it.

Columns: anonymous, public, member, other instructor, owner instructor, board member,
admin. A 409 or 200 in the table means the caller got past every access check.
"""

# The table reads best with one endpoint a line, however long.
# ruff: noqa: E501
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from events_app.models import Event
from sessions_app.models import RoomStatus, SessionAttendance, SessionStatus
from tests.api.conftest import ROLES, client_for
from tests.conftest import NOW

# fmt: off
MATRIX = [
    # method   path                                                     anon  pub.  memb. other owner board admin
    ("POST",   "/api/training/sessions",                                401,  403,  403,  201,  201,  201,  201),
    ("GET",    "/api/training/sessions",                                200,  200,  200,  200,  200,  200,  200),
    ("GET",    "/api/training/sessions/upcoming",                       200,  200,  200,  200,  200,  200,  200),
    ("GET",    "/api/training/sessions/{hidden}",                       404,  404,  200,  200,  200,  200,  200),
    ("GET",    "/api/training/sessions/{open}",                         200,  200,  200,  200,  200,  200,  200),
    ("PUT",    "/api/training/sessions/{hidden}",                       401,  404,  403,  403,  200,  200,  200),
    ("PATCH",  "/api/training/sessions/{hidden}",                       401,  404,  403,  403,  200,  200,  200),
    ("PATCH",  "/api/training/sessions/{open}",                         401,  403,  403,  403,  200,  200,  200),
    ("DELETE", "/api/training/sessions/{hidden}",                       401,  404,  403,  403,  200,  200,  200),
    ("POST",   "/api/training/sessions/{hidden}/start",                 401,  404,  403,  403,  200,  403,  200),
    ("POST",   "/api/training/sessions/{live}/end",                     401,  404,  403,  403,  200,  403,  200),
    ("GET",    "/api/training/sessions/{hidden}/can-join",              404,  404,  200,  200,  200,  200,  200),
    ("GET",    "/api/training/sessions/{open}/can-join",                200,  200,  200,  200,  200,  200,  200),
    ("POST",   "/api/training/sessions/{hidden}/join",                  401,  404,  200,  200,  200,  200,  200),
    ("POST",   "/api/training/sessions/{open}/join",                    401,  403,  200,  200,  200,  200,  200),
    ("POST",   "/api/training/sessions/{live}/leave",                   401,  404,  200,  200,  200,  200,  200),
    ("POST",   "/api/training/sessions/{hidden}/registration",          401,  404,  201,  201,  201,  201,  201),
    ("POST",   "/api/training/sessions/{open}/registration",            401,  403,  201,  201,  201,  201,  201),
    ("DELETE", "/api/training/sessions/{hidden}/registration",          401,  404,  204,  204,  204,  204,  204),
    ("GET",    "/api/training/sessions/{hidden}/attendance",            401,  404,  403,  403,  200,  200,  200),
    ("GET",    "/api/training/sessions/{hidden}/attendance?format=csv", 401,  404,  403,  403,  200,  200,  200),
    ("GET",    "/api/training/sessions/{hidden}/calendar.ics",          404,  404,  200,  200,  200,  200,  200),
    ("GET",    "/api/training/sessions/{open}/calendar.ics",            200,  200,  200,  200,  200,  200,  200),
    ("GET",    "/api/events",                                           401,  200,  200,  200,  200,  200,  200),
    ("GET",    "/api/events/{public_event}",                            401,  200,  200,  200,  200,  200,  200),
    ("GET",    "/api/events/{private_event}",                           401,  404,  200,  200,  200,  200,  200),
    ("GET",    "/api/events/public/{public_event}",                     200,  200,  200,  200,  200,  200,  200),
    ("GET",    "/api/events/public/{private_event}",                    404,  404,  404,  404,  404,  404,  404),
    ("GET",    "/api/schema",                                           200,  200,  200,  200,  200,  200,  200),
    ("GET",    "/api/docs",                                             200,  200,  200,  200,  200,  200,  200),
]
# fmt: on

BODIES = {
    "POST": {
        "title": "Evening randori",
        "start_time": "2026-06-03T18:00:00Z",
        "duration_minutes": 60,
    },
    "PUT": {
        "title": "Kata (renamed)",
        "start_time": "2026-06-01T16:05:00Z",
        "duration_minutes": 60,
    },
    "PATCH": {"title": "Kata (renamed)"},
}

CASES = [
    pytest.param(method, path, role, expected, id=f"{method} {path} as {role}")
    for method, path, *statuses in MATRIX
    for role, expected in zip(ROLES, statuses, strict=True)
]


@pytest.fixture
def world(soon, make_session, cast):
    """The sessions and events the table's placeholders name."""
    public_event = Event.objects.create(
        title="Open seminar", starts_at=NOW, ends_at=NOW + timedelta(days=2), is_public=True
    )
    private_event = Event.objects.create(
        title="Board retreat", starts_at=NOW, ends_at=NOW + timedelta(days=2), is_public=False
    )
    hidden = soon(event=private_event)
    open_ = soon(
        title="Open class",
        start_time=NOW + timedelta(minutes=10),
        is_public=True,
        event=public_event,
    )
    live = make_session(
        title="Live now",
        start_time=NOW - timedelta(minutes=30),
        duration_minutes=30,
        status=SessionStatus.LIVE,
        started_at=NOW - timedelta(minutes=30),
        room_status=RoomStatus.READY,
        room_id="local-live",
        room_url="http://testserver/room",
    )
    for user in cast.values():
        if user is not None:
            SessionAttendance.objects.create(
                session=live, user=user, joined_at=NOW, segment_started_at=NOW
            )
    return {
        "hidden": hidden.pk,
        "open": open_.pk,
        "live": live.pk,
        "public_event": public_event.pk,
        "private_event": private_event.pk,
    }


@pytest.mark.parametrize(("method", "path", "role", "expected"), CASES)
def test_each_role_gets_the_status_the_table_gives(
    frozen, world, cast, method, path, role, expected
):
    client = client_for(cast[role])
    sends_body = method in {"PUT", "PATCH"} or path == "/api/training/sessions"

    response = client.generic(
        method,
        path.format(**world),
        data=json.dumps(BODIES[method]) if sends_body and method in BODIES else "",
        content_type="application/json",
    )

    assert response.status_code == expected, getattr(response, "data", response)
