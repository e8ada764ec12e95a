"""Fixtures for the jobs: run a tick at a fixed instant, a fake provider, registrations."""

from __future__ import annotations

from datetime import datetime

import pytest
import time_machine

from sessions_app import rooms
from sessions_app.models import SessionRegistration
from tests.jobs.fakes import FakeRoomProvider, FlakyEmailBackend


@pytest.fixture
def tick(django_capture_on_commit_callbacks):
    """Run one tick of ``job`` with the clock frozen at ``at``; returns its report.

    The tests run inside a transaction that never commits, so the emails a unit sends
    "after commit" are sent when the captured callbacks run, at the end of the tick.
    """

    def run(job, at: datetime, **limits):
        with time_machine.travel(at, tick=False), django_capture_on_commit_callbacks(execute=True):
            return job.run(**limits)

    return run


@pytest.fixture
def register(db):
    def make(session, *users):
        for user in users:
            SessionRegistration.objects.create(session=session, user=user)

    return make


@pytest.fixture
def fake_provider(settings, monkeypatch):
    """Rooms come from ``FakeRoomProvider``; its class records every call."""
    monkeypatch.setitem(rooms.PROVIDERS, "fake", "tests.jobs.fakes.FakeRoomProvider")
    settings.ROOM_PROVIDER = "fake"
    FakeRoomProvider.reset()
    yield FakeRoomProvider
    FakeRoomProvider.reset()


@pytest.fixture
def flaky_mail(settings):
    """A mail server that refuses the addresses put in ``flaky_mail.refuse``."""
    settings.EMAIL_BACKEND = "tests.jobs.fakes.FlakyEmailBackend"
    FlakyEmailBackend.refuse = set()
    FlakyEmailBackend.opened = 0
    yield FlakyEmailBackend
    FlakyEmailBackend.refuse = set()
