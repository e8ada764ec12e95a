"""CSRF on every write a browser session can make: the site's forms and the API under the
session cookie. Without the token each is a 403 that changes nothing; with it, the same
request goes through, so it is the token that made the difference."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from sessions_app.models import (
    RoomStatus,
    SessionAttendance,
    SessionRegistration,
    SessionStatus,
    TrainingSession,
)
from tests.conftest import NOW
from tests.reliability.conftest import SESSIONS

pytestmark = pytest.mark.usefixtures("frozen", "unthrottled")

SECRET = "Csrf0123456789abcdefghijklmnopqr"  # 32 characters: the cookie's form of a token


@dataclass
class World:
    member: object
    instructor: object
    soon: TrainingSession
    live: TrainingSession


@pytest.fixture
def world(make_session, member, instructor) -> World:
    soon = make_session(title="Soon", start_time=NOW + timedelta(minutes=5), is_public=True)
    live = make_session(
        title="Live",
        start_time=NOW - timedelta(minutes=10),
        status=SessionStatus.LIVE,
        started_at=NOW - timedelta(minutes=10),
        room_status=RoomStatus.READY,
        room_id="local-live",
    )
    SessionAttendance.objects.create(
        session=live, user=member, joined_at=NOW - timedelta(minutes=5),
        segment_started_at=NOW - timedelta(minutes=5),
    )  # fmt: skip
    return World(member, instructor, soon, live)


def seat(world: World) -> SessionAttendance:
    return SessionAttendance.objects.get(session=world.live, user=world.member)


@dataclass
class Write:
    """One browser write: who posts where, and how to tell that it took effect."""

    who: str
    path: Callable[[World], str]
    done: Callable[[World], bool]
    arrange: Callable[[World], None] = lambda world: None


PAGE_WRITES = {
    "rsvp": Write(
        "member",
        lambda w: f"/sessions/{w.soon.pk}/rsvp/",
        lambda w: SessionRegistration.objects.filter(session=w.soon).exists(),
    ),
    "rsvp withdraw": Write(
        "member",
        lambda w: f"/sessions/{w.soon.pk}/rsvp/withdraw/",
        lambda w: not SessionRegistration.objects.filter(session=w.soon).exists(),
        arrange=lambda w: SessionRegistration.objects.create(session=w.soon, user=w.member),
    ),
    "join": Write(
        "member",
        lambda w: f"/sessions/{w.soon.pk}/join/",
        lambda w: SessionAttendance.objects.filter(session=w.soon).exists(),
    ),
    "leave": Write(
        "member",
        lambda w: f"/sessions/{w.live.pk}/leave/",
        lambda w: seat(w).left_at is not None,
    ),
    "presence": Write(
        "member",
        lambda w: f"/sessions/{w.live.pk}/presence/",
        lambda w: seat(w).last_seen_at is not None,
    ),
    "presence goodbye": Write(
        "member",
        lambda w: f"/sessions/{w.live.pk}/presence/leave/",
        lambda w: seat(w).left_at is not None,
    ),
    "start": Write(
        "instructor",
        lambda w: f"/my/sessions/{w.soon.pk}/start/",
        lambda w: TrainingSession.objects.get(pk=w.soon.pk).status == SessionStatus.LIVE,
    ),
    "end": Write(
        "instructor",
        lambda w: f"/my/sessions/{w.live.pk}/end/",
        lambda w: TrainingSession.objects.get(pk=w.live.pk).status == SessionStatus.ENDED,
    ),
}


def browser(user, *, with_cookie: bool = True) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    if with_cookie:
        client.cookies[settings.CSRF_COOKIE_NAME] = SECRET
    return client


@pytest.mark.parametrize("name", PAGE_WRITES)
def test_a_form_post_without_the_csrf_token_is_refused_and_changes_nothing(world, name):
    write = PAGE_WRITES[name]
    write.arrange(world)

    response = browser(getattr(world, write.who)).post(write.path(world), {})

    assert response.status_code == 403
    assert not write.done(world)


@pytest.mark.parametrize("name", PAGE_WRITES)
def test_a_form_post_with_a_token_not_matching_the_cookie_is_refused(world, name):
    write = PAGE_WRITES[name]
    write.arrange(world)

    response = browser(getattr(world, write.who)).post(
        write.path(world), {"csrfmiddlewaretoken": "X" * 32}
    )

    assert response.status_code == 403
    assert not write.done(world)


@pytest.mark.parametrize("name", PAGE_WRITES)
def test_the_same_form_post_with_the_csrf_token_goes_through(world, name):
    write = PAGE_WRITES[name]
    write.arrange(world)

    response = browser(getattr(world, write.who)).post(
        write.path(world), {"csrfmiddlewaretoken": SECRET}
    )

    assert response.status_code in {200, 204, 302}
    assert write.done(world)


def test_logging_out_needs_the_csrf_token(world):
    client = browser(world.member)

    refused = client.post("/accounts/logout/")

    assert refused.status_code == 403
    assert "_auth_user_id" in client.session
    client.post("/accounts/logout/", {"csrfmiddlewaretoken": SECRET})
    assert "_auth_user_id" not in client.session


def test_logging_in_needs_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)

    refused = client.post("/accounts/login/", {"username": "mia", "password": "pw"})

    assert refused.status_code == 403
    assert "_auth_user_id" not in client.session


def test_an_admin_change_needs_the_csrf_token(world, admin_user):
    client = browser(admin_user)

    response = client.post(
        "/admin/sessions_app/trainingsession/",
        {"action": "delete_selected", "_selected_action": [str(world.soon.pk)], "post": "yes"},
    )

    assert response.status_code == 403
    assert TrainingSession.objects.filter(pk=world.soon.pk).exists()


# --- The API under the session cookie -----------------------------------------------------

API_WRITES = {
    "create": (
        "instructor",
        "POST",
        lambda w: SESSIONS,
        {"title": "New", "start_time": "2026-06-03T10:00:00Z", "duration_minutes": 60},
        lambda w: TrainingSession.objects.filter(title="New").exists(),
    ),
    "update": (
        "instructor",
        "PATCH",
        lambda w: f"{SESSIONS}/{w.soon.pk}",
        {"title": "Renamed"},
        lambda w: TrainingSession.objects.get(pk=w.soon.pk).title == "Renamed",
    ),
    "cancel": (
        "instructor",
        "DELETE",
        lambda w: f"{SESSIONS}/{w.soon.pk}",
        None,
        lambda w: TrainingSession.objects.get(pk=w.soon.pk).status == SessionStatus.CANCELED,
    ),
    "start": (
        "instructor",
        "POST",
        lambda w: f"{SESSIONS}/{w.soon.pk}/start",
        None,
        lambda w: TrainingSession.objects.get(pk=w.soon.pk).status == SessionStatus.LIVE,
    ),
    "end": (
        "instructor",
        "POST",
        lambda w: f"{SESSIONS}/{w.live.pk}/end",
        None,
        lambda w: TrainingSession.objects.get(pk=w.live.pk).status == SessionStatus.ENDED,
    ),
    "join": (
        "member",
        "POST",
        lambda w: f"{SESSIONS}/{w.soon.pk}/join",
        None,
        lambda w: SessionAttendance.objects.filter(session=w.soon).exists(),
    ),
    "leave": (
        "member",
        "POST",
        lambda w: f"{SESSIONS}/{w.live.pk}/leave",
        None,
        lambda w: seat(w).left_at is not None,
    ),
    "register": (
        "member",
        "POST",
        lambda w: f"{SESSIONS}/{w.soon.pk}/registration",
        None,
        lambda w: SessionRegistration.objects.filter(session=w.soon).exists(),
    ),
}


def send(client: APIClient, write: tuple, world: World, **headers):
    _who, method, path, body, _done = write
    data = "" if body is None else json.dumps(body)
    return client.generic(method, path(world), data, content_type="application/json", **headers)


def api_browser(user) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    client.cookies[settings.CSRF_COOKIE_NAME] = SECRET
    return client


@pytest.mark.parametrize("name", API_WRITES)
def test_an_api_write_under_the_session_cookie_without_the_token_is_a_403(world, name):
    write = API_WRITES[name]

    response = send(api_browser(getattr(world, write[0])), write, world)

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not write[4](world)


@pytest.mark.parametrize("name", API_WRITES)
def test_the_same_api_write_with_the_token_in_its_header_goes_through(world, name):
    write = API_WRITES[name]

    response = send(api_browser(getattr(world, write[0])), write, world, HTTP_X_CSRFTOKEN=SECRET)

    assert response.status_code in {200, 201, 204}, response.content
    assert write[4](world)


@pytest.mark.parametrize("name", API_WRITES)
def test_an_api_write_with_a_bearer_token_needs_no_csrf_token(world, name):
    # A bearer token is never sent by the browser on its own, so no other site can use it.
    write = API_WRITES[name]
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(getattr(world, write[0]))}"
    )

    response = send(client, write, world)

    assert response.status_code in {200, 201, 204}, response.content
    assert write[4](world)
