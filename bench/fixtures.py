"""Rows the page and API benchmarks measure: people, and an event with N sessions.

Each session has one of five instructors, two people holding a seat, a registration by
the viewing member and tags, so every per-row lookup a page could make has something to
find. Import after Django is set up.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from events_app.models import Event
from sessions_app.models import SessionAttendance, SessionRegistration, TrainingSession
from wwmaa.models import Role, User


def make_people() -> dict:
    def user(name: str, role: str) -> User:
        return User.objects.create_user(name, f"{name}@example.com", "pw", role=role)

    return {
        "member": user("member", Role.MEMBER),
        "seated": [user(f"seated{i}", Role.MEMBER) for i in range(2)],
        "instructors": [user(f"teacher{i}", Role.INSTRUCTOR) for i in range(5)],
    }


def make_event(size: int, people: dict) -> Event:
    """A public event with ``size`` public sessions, a day apart, the first in two hours."""
    now = timezone.now()
    event = Event.objects.create(
        title=f"Camp with {size}",
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=size + 10),
        timezone="Europe/Berlin",
        is_public=True,
    )
    for i in range(size):
        session = TrainingSession.objects.create(
            event=event,
            instructor=people["instructors"][i % len(people["instructors"])],
            title=f"Class {i:03d}",
            description="Kata and kumite.",
            start_time=now + timedelta(hours=2 + 24 * i),
            duration_minutes=60,
            capacity=10 if i % 2 else None,
            is_public=True,
            members_only=bool(i % 3),
            recording_enabled=bool(i % 2),
            tags=["kata", f"level-{i % 3}"],
        )
        for person in people["seated"]:
            SessionAttendance.objects.create(session=session, user=person, joined_at=now)
        SessionRegistration.objects.create(session=session, user=people["member"])
    return event


def session_cookie(user) -> str:
    """A ``Cookie`` header value logging ``user`` in (the session is stored in the database)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
