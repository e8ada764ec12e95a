"""Cloudflare failing while sessions are created: the sessions are created all the same,
their rooms come later from the ensure-rooms job, and every session ends up with exactly
one room, whatever mix of 5xx, 429 and timeouts came first.

At the wire (``responses``): each POST to RealtimeKit's meetings endpoint is answered by
the next failure in line, then by success; every meeting id Cloudflare hands out is
checked against the rooms recorded and the rooms retired.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import requests
import urllib3.exceptions

from sessions_app.jobs import rooms as rooms_job
from sessions_app.models import RoomStatus, TrainingSession
from tests.conftest import NOW
from tests.reliability.conftest import CF_API, CF_MEETINGS, CF_TOKEN, SESSIONS, client_for

pytestmark = pytest.mark.usefixtures("frozen", "unthrottled")

TICK = timedelta(minutes=5)


def refused() -> requests.ConnectionError:
    """What requests raises when the connection cannot even be opened."""
    reason = urllib3.exceptions.NewConnectionError(None, "Connection refused")
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/", reason))


def server_error(status: int, **headers) -> dict:
    body = {"success": False, "errors": [{"code": status, "message": "try later"}]}
    return {"status": status, "json": body, "headers": headers}


# One creation attempt's worth of failures: a create is retried on an answer saying it was
# not applied (5xx but 504, 429) and on a connection never opened, three times at most; a
# read timeout is not retried (the meeting may exist), and neither is a 504.
FAILURES = {
    "500": [server_error(500)] * 4,
    "502 then 503": [server_error(502), server_error(503)] * 2,
    "429 with Retry-After": [server_error(429, **{"Retry-After": "2"})] * 4,
    "429 without Retry-After": [server_error(429)] * 4,
    "read timeout": [{"body": requests.ReadTimeout("read timed out")}],
    "gateway timeout": [server_error(504)],
    "connection refused": [{"body": refused()}] * 4,
}


class Meetings:
    """RealtimeKit's meetings endpoint: failures in line, then success with fresh ids."""

    def __init__(self, wire):
        self.failures: list[dict] = []
        self.created: list[str] = []
        self.retired: list[str] = []
        wire.add_callback("POST", CF_MEETINGS, callback=self._create)
        wire.add_callback(
            "PATCH",
            re.compile(rf"{CF_API}/meetings/[^/]+$"),
            callback=self._retire,
        )

    def fail_next(self, answers: list[dict]) -> None:
        self.failures.extend(answers)

    def _create(self, request):
        assert request.headers["Authorization"] == f"Bearer {CF_TOKEN}"
        if self.failures:
            answer = self.failures.pop(0)
            if "body" in answer:
                raise answer["body"]
            return answer["status"], answer["headers"], json.dumps(answer["json"])
        meeting = f"meeting-{len(self.created) + 1:03d}"
        self.created.append(meeting)
        return 201, {}, json.dumps({"success": True, "data": {"id": meeting}})

    def _retire(self, request):
        self.retired.append(request.url.rsplit("/", 1)[-1])
        return 200, {}, json.dumps({"success": True, "data": {"status": "INACTIVE"}})


@pytest.fixture
def meetings(cloudflare, wire) -> Meetings:
    return Meetings(wire)


def create(instructor, captured, minutes: int, title: str = "Kata"):
    """Create a session through the API; the room task runs once the request committed."""
    start = NOW + timedelta(minutes=minutes)
    with captured(execute=True):
        response = client_for(instructor).post(
            SESSIONS,
            {"title": title, "start_time": start.isoformat(), "duration_minutes": 30},
            format="json",
        )
    return response


def assert_one_room_each(meetings: Meetings, sessions) -> None:
    recorded = []
    for session in sessions:
        session.refresh_from_db()
        assert session.room_status == RoomStatus.READY
        recorded.append(session.room_id)
    assert len(set(recorded)) == len(recorded)
    # Every meeting Cloudflare made is a session's room, or was retired again.
    assert sorted(set(meetings.created) - set(meetings.retired)) == sorted(recorded)


@pytest.mark.parametrize("failure", FAILURES)
def test_a_session_created_while_cloudflare_fails_gets_its_room_from_the_next_tick(
    meetings, instructor, django_capture_on_commit_callbacks, failure
):
    meetings.fail_next(FAILURES[failure])

    response = create(instructor, django_capture_on_commit_callbacks, minutes=30)

    assert response.status_code == 201, response.content
    session = TrainingSession.objects.get(pk=response.json()["id"])
    assert session.room_status == RoomStatus.PENDING
    assert meetings.created == []

    report = rooms_job.run(NOW + TICK)

    assert report["created"] == 1
    assert_one_room_each(meetings, [session])
    assert rooms_job.run(NOW + 2 * TICK)["created"] == 0
    assert_one_room_each(meetings, [session])


def test_sessions_created_during_an_outage_get_one_room_each_once_it_is_over(
    meetings, instructor, django_capture_on_commit_callbacks
):
    meetings.fail_next([server_error(503)] * 400)
    sessions = []
    for i in range(3):
        response = create(instructor, django_capture_on_commit_callbacks, 20 + 40 * i, f"K{i}")
        assert response.status_code == 201
        sessions.append(TrainingSession.objects.get(pk=response.json()["id"]))

    first = rooms_job.run(NOW + TICK)  # still down: every due room backs off
    meetings.failures.clear()  # Cloudflare is back
    later = [rooms_job.run(NOW + TICK * n) for n in range(2, 12)]

    assert first["retrying"] == 3  # all three start within two hours
    assert sum(report["created"] for report in later) == 3
    assert_one_room_each(meetings, sessions)


def test_a_join_while_cloudflare_is_down_takes_no_seat_and_succeeds_once_it_is_back(
    meetings, instructor, member, django_capture_on_commit_callbacks, wire
):
    meetings.fail_next([server_error(503)] * 8)
    response = create(instructor, django_capture_on_commit_callbacks, minutes=5)
    session = TrainingSession.objects.get(pk=response.json()["id"])
    session.is_public = True
    session.save()
    wire.add(
        "POST",
        re.compile(rf"{CF_API}/meetings/[^/]+/participants$"),
        json={"success": True, "data": {"id": "participant-1", "token": "rtk-token"}},
    )

    refused_join = client_for(member).post(f"{SESSIONS}/{session.pk}/join")
    joined = client_for(member).post(f"{SESSIONS}/{session.pk}/join")

    assert (refused_join.status_code, refused_join.json()["code"]) == (409, "room_not_ready")
    assert joined.status_code == 200, joined.content
    assert session.attendance.count() == 1
    assert_one_room_each(meetings, [session])
