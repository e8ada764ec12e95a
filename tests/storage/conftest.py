"""Fixtures for the ZeroDB mirror: the adapter switched on, the wire, snapshots."""

from __future__ import annotations

import re

import pytest
import responses

from sessions_app.storage.client import ZeroDBClient
from tests.storage.support import API_KEY, BASE, PROJECT

ANY_URL = re.compile(r".*")
METHODS = (responses.GET, responses.POST, responses.PUT, responses.DELETE, responses.PATCH)


@pytest.fixture
def zerodb_on(settings):
    """The adapter on, pointed at a fake host (settings are read at call time)."""
    settings.ZERODB_API_KEY = API_KEY
    settings.ZERODB_PROJECT_ID = PROJECT
    settings.ZERODB_API_BASE_URL = BASE
    settings.ZERODB_AUTH_HEADER = "x-api-key"
    settings.ZERODB_PATH_PREFIX = "/v1/projects/{project_id}/database"
    settings.ZERODB_TIMEOUT_SECONDS = 5
    settings.ZERODB_RETRIES = 2
    settings.ZERODB_BACKOFF_SECONDS = 5
    settings.ZERODB_BACKOFF_MAX_SECONDS = 300
    return settings


@pytest.fixture
def wire():
    """``responses`` for the ZeroDB calls a test expects; any other call fails."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def no_calls():
    """Fail the test if any HTTP call is made (in the code under test or anywhere)."""
    made: list[str] = []

    def refuse(request):
        made.append(f"{request.method} {request.url}")
        pytest.fail(f"unexpected HTTP call: {request.method} {request.url}")

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in METHODS:
            mock.add_callback(method, ANY_URL, callback=refuse)
        yield made
    assert made == []


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def zdb(zerodb_on, sleeps):
    """A client from settings whose waits are recorded, never slept."""
    made = ZeroDBClient.from_settings(sleep=sleeps.append)
    yield made
    made.close()


class RecordingBroker:
    """Stands in for django-q2's broker: records what would be queued, whatever broker
    the run is configured with (the ORM one on SQLite, Redis in CI's PostgreSQL run)."""

    def __init__(self):
        self.calls: list[dict] = []

    def __call__(self, func, *args, **kwargs):
        self.calls.append({"func": func, "args": args, **kwargs})
        return f"task-{len(self.calls)}"

    def funcs(self) -> list[str]:
        return [call["func"] for call in self.calls]


@pytest.fixture
def broker(monkeypatch):
    recorder = RecordingBroker()
    monkeypatch.setattr("sessions_app.queueing.async_task", recorder)
    return recorder
