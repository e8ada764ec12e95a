"""The API's test cast: a client per role, authenticated as a frontend would (JWT)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_simplejwt.tokens import AccessToken

from sessions_app.models import TrainingSession
from tests.conftest import NOW

SESSIONS = "/api/training/sessions"

ROLES = (
    "anonymous",
    "public",
    "member",
    "other_instructor",
    "owner",
    "board_member",
    "admin",
)


def client_for(user=None) -> APIClient:
    """An API client sending ``Authorization: Bearer <access token>`` for ``user``."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


def url(session_or_id, suffix: str = "") -> str:
    pk = getattr(session_or_id, "pk", session_or_id)
    return f"{SESSIONS}/{pk}{suffix}"


@pytest.fixture
def cast(public_user, member, other_instructor, instructor, board_member, admin_user):
    """Every role of SPEC §1 by name; ``owner`` is the instructor of ``make_session``."""
    return {
        "anonymous": None,
        "public": public_user,
        "member": member,
        "other_instructor": other_instructor,
        "owner": instructor,
        "board_member": board_member,
        "admin": admin_user,
    }


@pytest.fixture
def client_as(cast) -> Callable[[str], APIClient]:
    """``client_as("member")``: an API client for one role of the cast."""
    return lambda role: client_for(cast[role])


@pytest.fixture
def anon(db) -> APIClient:
    return APIClient()


@pytest.fixture
def soon(make_session) -> Callable[..., TrainingSession]:
    """A session starting five minutes after NOW: members may join, owners may start."""

    def make(**fields) -> TrainingSession:
        fields.setdefault("start_time", NOW + timedelta(minutes=5))
        return make_session(**fields)

    return make


@pytest.fixture
def rates(monkeypatch) -> Callable[..., None]:
    """Lower (or raise) throttle rates for one test: ``rates(token="2/min")``.

    DRF's throttles read their rates from a dict taken at import, so the settings fixture
    would not reach them; this patches that dict and restores it afterwards.
    """

    def set_rates(**scoped: str) -> None:
        for scope, rate in scoped.items():
            monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, rate)

    return set_rates


def body(session: dict, *names: str) -> dict:
    """The named fields of a JSON answer, for short assertions."""
    return {name: session[name] for name in names}
