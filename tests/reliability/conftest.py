"""Fixtures of the reliability and security suite: the cast by role, JWT clients, and
Cloudflare on a wire that only answers what a test registered."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator

import pytest
import requests
import responses
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_simplejwt.tokens import AccessToken

from sessions_app import rooms
from sessions_app.rooms.cloudflare import CloudflareRoomProvider

SESSIONS = "/api/training/sessions"

CF_TOKEN = "cf-api-token-Rel1ab1l1ty-9f8e7d"
CF_ACCOUNT = "acc-reliability"
CF_APP = "app-reliability"
CF_API = f"https://api.cloudflare.com/client/v4/accounts/{CF_ACCOUNT}/realtime/kit/{CF_APP}"
CF_MEETINGS = f"{CF_API}/meetings"


def client_for(user=None) -> APIClient:
    """An API client sending ``Authorization: Bearer <access token>`` for ``user``."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


@pytest.fixture
def cast(public_user, member, instructor, board_member, admin_user) -> dict:
    """One user per role of SPEC §1 (``instructor`` owns the sessions of ``make_session``)."""
    return {
        "anonymous": None,
        "public": public_user,
        "member": member,
        "instructor": instructor,
        "board_member": board_member,
        "admin": admin_user,
    }


@pytest.fixture
def unthrottled(monkeypatch) -> None:
    """Throttle rates far above anything a test sends (they are read once, at import)."""
    for scope in ("anon", "user", "token", "join"):
        monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, "1000000/min")


@pytest.fixture(autouse=True)
def _no_real_network(monkeypatch):
    """Beneath ``responses``: a request nobody mocked fails the test instead of going out.

    Requests to this machine (the live server of the schema tests) still go through.
    """
    send = requests.adapters.HTTPAdapter.send

    def local_only(adapter, request, *args, **kwargs):
        if not re.match(r"https?://(127\.0\.0\.1|localhost)[:/]", request.url):
            pytest.fail(f"Real network call attempted: {request.method} {request.url}")
        return send(adapter, request, *args, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", local_only)


@pytest.fixture
def cloudflare(settings, monkeypatch) -> list[float]:
    """The Cloudflare provider configured as in production; returns the waits it asked for
    (recorded, never slept)."""
    settings.ROOM_PROVIDER = "cloudflare"
    settings.CLOUDFLARE_ACCOUNT_ID = CF_ACCOUNT
    settings.CLOUDFLARE_API_TOKEN = CF_TOKEN
    settings.CLOUDFLARE_CALLS_APP_ID = CF_APP
    settings.CLOUDFLARE_API_BASE_URL = "https://api.cloudflare.com/client/v4"
    settings.CLOUDFLARE_WEBHOOK_PUBLIC_KEY = ""
    waits: list[float] = []
    monkeypatch.setitem(CloudflareRoomProvider.__init__.__kwdefaults__, "sleep", waits.append)
    monkeypatch.setitem(CloudflareRoomProvider.__init__.__kwdefaults__, "rng", random.Random(3))
    # get_provider() keeps one provider per thread; start from a fresh one.
    monkeypatch.setattr(rooms._instances, "provider", None, raising=False)
    yield waits
    rooms._instances.provider = None


@pytest.fixture
def wire() -> Iterator[responses.RequestsMock]:
    """The HTTP wire: only answers registered by the test exist."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def meeting_answer() -> Callable[..., dict]:
    """RealtimeKit's answer to a created meeting, with a fresh id each time."""
    counter = iter(range(1, 10_000))

    def answer(**extra) -> dict:
        return {"success": True, "data": {"id": f"meeting-{next(counter):04d}", **extra}}

    return answer
