"""Fixtures for the page tests: sessions on an event, in bulk, and who is logged in."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessions_app.models import SessionAttendance, SessionRegistration, TrainingSession
from tests.conftest import NOW, make_user

# The room providers' fixtures, for the room pages' tests here.
from tests.rooms.conftest import (  # noqa: F401
    cloudflare,
    cloudflare_settings,
    no_http,
    sleeps,
    wire,
)
from wwmaa.models import Role


@pytest.fixture
def sessions_on(make_session, instructor, other_instructor):
    """``sessions_on(event, n)``: n sessions a day apart, alternating instructors and flags,
    each with two people holding a seat and one registration, so every card has counts to
    show (and the page has every query it could make per card)."""

    def make(event, n: int, **fields) -> list[TrainingSession]:
        people = [make_user(f"seat{i}", Role.MEMBER) for i in range(2)]
        made = []
        for i in range(n):
            session = make_session(
                event=event,
                title=f"Class {i:02d}",
                instructor=instructor if i % 2 == 0 else other_instructor,
                start_time=NOW + timedelta(days=i, hours=1),
                capacity=10 if i % 3 else None,
                recording_enabled=bool(i % 2),
                is_public=True,
                members_only=bool(i % 2),
                **fields,
            )
            for person in people:
                SessionAttendance.objects.create(session=session, user=person, joined_at=NOW)
            SessionRegistration.objects.create(session=session, user=people[0])
            made.append(session)
        return made

    return make


@pytest.fixture
def logged_in(client, request):
    """``logged_in("member")``: the test client logged in as that fixture's user, or as
    nobody for ``"anonymous"``."""

    def login(who: str):
        if who != "anonymous":
            client.force_login(request.getfixturevalue(who))
        return client

    return login


ROLES = ["anonymous", "public_user", "member", "instructor", "board_member", "admin_user"]
