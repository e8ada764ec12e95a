"""Shared fixtures: one user per role, an event, and a session factory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from events_app.models import Event
from sessions_app.models import TrainingSession
from wwmaa.models import Role, User

# Every test that freezes time uses this instant unless it needs another.
NOW = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)

# For what exists only on a live PostgreSQL connection (psycopg's binding and loaders, a
# table's storage settings): SQLite, the default, has none of it; CI's second run has.
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL only (CI's second run)"
)


def make_user(username: str, role: Role, **extra) -> User:
    return User.objects.create_user(
        username=username,
        password="pw",
        email=f"{username}@example.com",
        role=role,
        **extra,
    )


@pytest.fixture
def frozen():
    """Freeze the clock at NOW; the traveller can be moved with ``frozen.move_to``."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def public_user(db):
    return make_user("pat", Role.PUBLIC)


@pytest.fixture
def member(db):
    return make_user("mia", Role.MEMBER, timezone="Europe/Berlin")


@pytest.fixture
def other_member(db):
    return make_user("max", Role.MEMBER)


@pytest.fixture
def instructor(db):
    return make_user("kenji", Role.INSTRUCTOR, first_name="Kenji", last_name="Sato")


@pytest.fixture
def other_instructor(db):
    return make_user("maria", Role.INSTRUCTOR, first_name="Maria", last_name="Lopez")


@pytest.fixture
def board_member(db):
    return make_user("bob", Role.BOARD_MEMBER)


@pytest.fixture
def admin_user(db):
    return make_user("ada", Role.ADMIN)


@pytest.fixture
def event(db):
    return Event.objects.create(
        title="Winter camp",
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=10),
        timezone="America/Los_Angeles",
        is_public=True,
    )


@pytest.fixture
def make_session(db, instructor):
    """Create a session row directly (bypassing the services' rules), for arranging tests."""

    def make(**fields) -> TrainingSession:
        fields.setdefault("instructor", instructor)
        fields.setdefault("title", "Kata fundamentals")
        fields.setdefault("start_time", NOW + timedelta(hours=2))
        fields.setdefault("duration_minutes", 60)
        return TrainingSession.objects.create(**fields)

    return make


@pytest.fixture
def anonymous():
    from django.contrib.auth.models import AnonymousUser

    return AnonymousUser()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Every test starts with an empty cache, so API throttle counts never carry over."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
