"""Throttles: anonymous callers, logged-in users, token requests and joins; 429 + Retry-After.

Rates are lowered per test with the ``rates`` fixture; the clock is frozen, so a window
only passes when a test moves the clock.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.api.conftest import SESSIONS, client_for, url

TOKEN = "/api/auth/token"


def assert_throttled(response) -> None:
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60


def test_anonymous_callers_are_throttled_by_address(frozen, anon, rates):
    rates(anon="2/min")

    assert [anon.get(SESSIONS).status_code for _ in range(2)] == [200, 200]
    assert_throttled(anon.get(SESSIONS))
    assert anon.get(SESSIONS, REMOTE_ADDR="10.0.0.9").status_code == 200


def test_a_forged_forwarded_for_header_does_not_escape_the_throttle(frozen, anon, rates):
    rates(anon="1/min")
    anon.get(SESSIONS)

    assert_throttled(anon.get(SESSIONS, HTTP_X_FORWARDED_FOR="203.0.113.7"))


def test_logged_in_users_are_throttled_per_user(frozen, member, other_member, rates):
    rates(user="2/min")
    client = client_for(member)
    client.get(SESSIONS)
    client.get(SESSIONS)

    assert_throttled(client.get(SESSIONS))
    assert client_for(other_member).get(SESSIONS).status_code == 200


def test_the_window_passes(frozen, anon, rates):
    rates(anon="1/min")
    anon.get(SESSIONS)
    assert anon.get(SESSIONS).status_code == 429

    frozen.shift(timedelta(seconds=61))

    assert anon.get(SESSIONS).status_code == 200


def test_token_requests_are_throttled_right_or_wrong(frozen, anon, member, rates):
    rates(token="3/min")
    wrong = {"username": "mia", "password": "guess"}

    assert [anon.post(TOKEN, wrong, format="json").status_code for _ in range(3)] == [401] * 3
    right = anon.post(TOKEN, {"username": "mia", "password": "pw"}, format="json")
    assert_throttled(right)


def test_joins_have_their_own_tighter_throttle(frozen, member, soon, rates):
    rates(join="2/min")
    session = soon()
    client = client_for(member)
    client.post(url(session, "/join"))
    client.post(url(session, "/join"))

    assert_throttled(client.post(url(session, "/join")))
    assert client.get(url(session)).status_code == 200


def settings_of(**variables: str) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter with ``variables`` set."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "JWT_"))}
    environ.update({"DEBUG": "1", **variables})
    code = (
        "import json, wwmaa.settings as s; print(json.dumps({"
        "'rates': s.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'], "
        "'proxies': s.REST_FRAMEWORK['NUM_PROXIES'], "
        "'access': s.SIMPLE_JWT['ACCESS_TOKEN_LIFETIME'].total_seconds(), "
        "'key': len(s.SIMPLE_JWT['SIGNING_KEY'])}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )


def test_rates_and_token_lifetime_come_from_the_environment():
    result = settings_of(
        API_THROTTLE_ANON="5/min",
        API_THROTTLE_JOIN="100/hour",
        API_NUM_PROXIES="1",
        JWT_ACCESS_MINUTES="5",
    )

    settings = json.loads(result.stdout)
    assert settings["rates"] == {
        "anon": "5/min",
        "user": "600/min",
        "token": "20/min",
        "join": "100/hour",
    }
    assert (settings["proxies"], settings["access"], settings["key"]) == (1, 300.0, 64)


@pytest.mark.parametrize("value", ["lots", "5/fortnight", "/min", "5 per min"])
def test_a_rate_that_is_not_a_rate_stops_the_start(value):
    result = settings_of(API_THROTTLE_USER=value)

    assert result.returncode != 0
    assert "API_THROTTLE_USER" in result.stderr
