"""Every failure branch of the RealtimeKit client: errors, retries, waits, and secrecy."""

from __future__ import annotations

import logging

import pytest
import requests
import urllib3.exceptions

from sessions_app.rooms import (
    RoomProviderError,
    RoomProviderInvalidCredentials,
    RoomProviderRejected,
    RoomProviderUnavailable,
    RoomRole,
)
from sessions_app.rooms.cloudflare import CloudflareRoomProvider
from tests.rooms.conftest import API, MEETING, TOKEN, ok

MEETING_URL = f"{API}/meetings/{MEETING}"


def rtk_error(code: int, message: str) -> dict:
    return {"success": False, "error": {"code": code, "message": message}}


def gateway_error(code: int, message: str) -> dict:
    return {"success": False, "errors": [{"code": code, "message": message}], "messages": []}


def refused_before_sending() -> requests.ConnectionError:
    """What requests raises when the connection cannot even be opened."""
    reason = urllib3.exceptions.NewConnectionError(None, "Connection refused")
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/", reason))


def test_a_400_is_rejected_at_once_with_realtimekits_message(provider, wire, sleeps):
    wire.get(MEETING_URL, status=400, json=rtk_error(400, "Invalid meeting id"))

    with pytest.raises(RoomProviderRejected) as caught:
        provider.get_room(MEETING)

    assert caught.value.status == 400
    assert caught.value.code == 400
    assert "Invalid meeting id" in str(caught.value)
    assert len(wire.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize("status", [401, 403])
def test_bad_credentials_in_the_gateway_envelope_are_named(provider, wire, sleeps, status):
    wire.get(MEETING_URL, status=status, json=gateway_error(10000, "Authentication error"))

    with pytest.raises(RoomProviderInvalidCredentials) as caught:
        provider.get_room(MEETING)

    assert caught.value.status == status
    assert caught.value.code == 10000
    assert "Authentication error" in str(caught.value)
    assert len(wire.calls) == 1
    assert sleeps == []


def test_a_404_is_rejected_and_not_retried(provider, wire, sleeps):
    wire.get(MEETING_URL, status=404, json=rtk_error(404, "Meeting not found"))

    with pytest.raises(RoomProviderRejected) as caught:
        provider.get_room(MEETING)

    assert caught.value.status == 404
    assert not isinstance(caught.value, RoomProviderInvalidCredentials)
    assert len(wire.calls) == 1


def test_a_429_waits_as_long_as_retry_after_says(provider, wire, sleeps):
    wire.get(
        MEETING_URL,
        status=429,
        headers={"Retry-After": "7"},
        json=gateway_error(971, "Please wait and consider throttling your request speed"),
    )
    wire.get(MEETING_URL, json=ok({"id": MEETING, "status": "ACTIVE"}))

    assert provider.get_room(MEETING).active is True
    assert sleeps == [7.0]
    assert len(wire.calls) == 2


def test_a_429_without_retry_after_backs_off_with_jitter(provider, wire, sleeps):
    for _ in range(3):
        wire.get(MEETING_URL, status=429, json=rtk_error(429, "Too many requests"))
    wire.get(MEETING_URL, json=ok({"id": MEETING, "status": "ACTIVE"}))

    provider.get_room(MEETING)

    assert len(sleeps) == 3
    # Exponential (1, 2, 4 s) with "equal jitter": between half and all of each step.
    for wait, ceiling in zip(sleeps, [1, 2, 4], strict=True):
        assert ceiling / 2 <= wait <= ceiling
    assert len(wire.calls) == 4


def test_a_retry_after_given_as_a_date_is_waited_for(provider, wire, sleeps, frozen):
    wire.get(
        MEETING_URL,
        status=503,
        headers={"Retry-After": "Mon, 01 Jun 2026 16:00:05 GMT"},  # NOW + 5 s
        json={},
    )
    wire.get(MEETING_URL, json=ok({"id": MEETING, "status": "ACTIVE"}))

    provider.get_room(MEETING)

    assert sleeps == [5.0]


def test_a_retry_after_longer_than_a_minute_is_not_waited_for(provider, wire, sleeps):
    wire.get(MEETING_URL, status=429, headers={"Retry-After": "300"}, json=gateway_error(971, "x"))
    wire.get(MEETING_URL, json=ok({"id": MEETING, "status": "ACTIVE"}))

    provider.get_room(MEETING)

    assert len(sleeps) == 1
    assert sleeps[0] <= 1


def test_a_429_that_never_ends_gives_up_after_three_retries(provider, wire, sleeps):
    for _ in range(4):
        wire.get(
            MEETING_URL, status=429, headers={"Retry-After": "2"}, json=gateway_error(971, "x")
        )

    with pytest.raises(RoomProviderUnavailable) as caught:
        provider.get_room(MEETING)

    assert len(wire.calls) == 4
    assert sleeps == [2.0, 2.0, 2.0]
    assert caught.value.status == 429
    assert caught.value.retry_after == 2.0
    assert "gave up after 4 attempts" in str(caught.value)


def test_a_500_is_retried_then_given_up(provider, wire, sleeps):
    for _ in range(4):
        wire.get(MEETING_URL, status=500, json=rtk_error(500, "Internal error"))

    with pytest.raises(RoomProviderUnavailable) as caught:
        provider.get_room(MEETING)

    assert len(wire.calls) == 4
    assert len(sleeps) == 3
    assert caught.value.status == 500
    assert caught.value.outcome_unknown is False


@pytest.mark.parametrize("status", [408, 409, 500, 502, 503, 504])
def test_transient_statuses_are_retried(provider, wire, sleeps, status):
    wire.get(MEETING_URL, status=status, body="<html>upstream trouble</html>")
    wire.get(MEETING_URL, json=ok({"id": MEETING, "status": "ACTIVE"}))

    assert provider.get_room(MEETING).active is True
    assert len(wire.calls) == 2
    assert len(sleeps) == 1


def test_the_back_off_is_capped_at_eight_seconds(cloudflare_settings, wire):
    waits: list[float] = []
    patient = CloudflareRoomProvider(sleep=waits.append, max_retries=6)
    for _ in range(7):
        wire.get(MEETING_URL, status=503, json={})

    with pytest.raises(RoomProviderUnavailable):
        patient.get_room(MEETING)

    assert len(waits) == 6
    assert max(waits) <= 8
    assert waits[-1] >= 4  # the cap is reached, jittered between 4 and 8 s


def test_a_timeout_on_a_read_is_retried(provider, wire, sleeps):
    wire.get(MEETING_URL, body=requests.ReadTimeout("read timed out"))
    wire.get(MEETING_URL, json=ok({"id": MEETING, "status": "ACTIVE"}))

    assert provider.get_room(MEETING).active is True
    assert len(sleeps) == 1


def test_timeouts_without_end_give_up_as_unavailable(provider, wire, sleeps):
    for _ in range(4):
        wire.get(MEETING_URL, body=requests.ReadTimeout("read timed out"))

    with pytest.raises(RoomProviderUnavailable) as caught:
        provider.get_room(MEETING)

    assert caught.value.status is None
    assert "ReadTimeout" in str(caught.value)
    assert len(wire.calls) == 4


def test_a_connection_error_is_retried(provider, wire, sleeps):
    wire.get(MEETING_URL, body=requests.ConnectionError("connection reset"))
    wire.get(MEETING_URL, json=ok({"id": MEETING, "status": "ACTIVE"}))

    provider.get_room(MEETING)

    assert len(wire.calls) == 2


def test_every_request_carries_a_timeout(cloudflare_settings, monkeypatch):
    seen = []

    def record(self, method, url, **kwargs):
        seen.append(kwargs.get("timeout"))
        response = requests.Response()
        response.status_code = 200
        response._content = b'{"success": true, "data": {"id": "m", "status": "ACTIVE"}}'
        return response

    monkeypatch.setattr(requests.Session, "request", record)
    CloudflareRoomProvider().get_room(MEETING)

    assert seen == [(5.0, 15.0)]


def test_a_2xx_saying_success_false_is_an_error(provider, wire, sleeps):
    wire.get(MEETING_URL, status=200, json=rtk_error(1001, "Meeting is archived"))

    with pytest.raises(RoomProviderRejected) as caught:
        provider.get_room(MEETING)

    assert caught.value.status == 200
    assert caught.value.code == 1001
    assert "Meeting is archived" in str(caught.value)
    assert len(wire.calls) == 1


def test_a_2xx_in_the_general_envelope_saying_success_false_is_an_error(provider, wire):
    wire.get(MEETING_URL, status=200, json=gateway_error(7003, "Could not route"))

    with pytest.raises(RoomProviderRejected, match="error 7003: Could not route"):
        provider.get_room(MEETING)


def test_a_2xx_that_is_not_json_is_an_error(provider, wire):
    wire.get(MEETING_URL, status=200, body="<html>captive portal</html>")

    with pytest.raises(RoomProviderError, match="not JSON"):
        provider.get_room(MEETING)


def test_a_created_meeting_without_an_id_is_an_error(provider, wire, make_session):
    wire.post(f"{API}/meetings", json=ok({"title": "x"}))

    with pytest.raises(RoomProviderError, match="no id"):
        provider.create_room(make_session())


# Requests that create something are not repeated when their fate is unknown.


def test_a_create_that_timed_out_is_not_repeated(provider, wire, sleeps, make_session):
    wire.post(f"{API}/meetings", body=requests.ReadTimeout("read timed out"))

    with pytest.raises(RoomProviderUnavailable) as caught:
        provider.create_room(make_session())

    assert caught.value.outcome_unknown is True
    assert len(wire.calls) == 1
    assert sleeps == []


def test_a_create_whose_connection_dropped_is_not_repeated(provider, wire, make_session):
    wire.post(f"{API}/meetings", body=requests.ConnectionError("Connection aborted"))

    with pytest.raises(RoomProviderUnavailable) as caught:
        provider.create_room(make_session())

    assert caught.value.outcome_unknown is True
    assert len(wire.calls) == 1


def test_a_create_answered_by_a_gateway_timeout_is_not_repeated(provider, wire, make_session):
    wire.post(f"{API}/meetings", status=504, json={})

    with pytest.raises(RoomProviderUnavailable) as caught:
        provider.create_room(make_session())

    assert caught.value.outcome_unknown is True
    assert len(wire.calls) == 1


@pytest.mark.parametrize(
    "failure",
    [requests.ConnectTimeout("connect timed out"), refused_before_sending()],
    ids=["connect-timeout", "connection-refused"],
)
def test_a_create_that_never_left_is_retried(provider, wire, sleeps, make_session, failure):
    wire.post(f"{API}/meetings", body=failure)
    wire.post(f"{API}/meetings", json=ok({"id": MEETING, "status": "ACTIVE"}))

    assert provider.create_room(make_session()).room_id == MEETING
    assert len(wire.calls) == 2


@pytest.mark.parametrize("status", [429, 503])
def test_a_create_cloudflare_declined_for_now_is_retried(provider, wire, make_session, status):
    wire.post(f"{API}/meetings", status=status, json={})
    wire.post(f"{API}/meetings", json=ok({"id": MEETING, "status": "ACTIVE"}))

    assert provider.create_room(make_session()).room_id == MEETING


def test_adding_a_participant_that_timed_out_is_not_repeated(provider, wire, make_session, member):
    session = make_session(room_id=MEETING, room_status="ready")
    wire.post(f"{API}/meetings/{MEETING}/participants", body=requests.ReadTimeout("timed out"))

    with pytest.raises(RoomProviderUnavailable) as caught:
        provider.join_credentials(session, member, RoomRole.PARTICIPANT)

    assert caught.value.outcome_unknown is True
    assert len(wire.calls) == 1


def test_a_session_without_a_room_gets_no_credentials(provider, no_http, make_session, member):
    with pytest.raises(RoomProviderRejected):
        provider.join_credentials(make_session(), member, RoomRole.PARTICIPANT)


def test_a_recording_start_with_no_answer_finds_the_recording_it_started(provider, wire):
    wire.post(f"{API}/recordings", body=requests.ReadTimeout("timed out"))
    wire.get(
        f"{API}/recordings/active-recording/{MEETING}",
        json=ok({"id": "rec-1", "status": "RECORDING"}),
    )

    recording = provider.start_recording(MEETING)

    assert recording.recording_id == "rec-1"
    assert [c.request.method for c in wire.calls] == ["POST", "GET"]


def test_a_recording_start_with_no_answer_and_no_recording_is_sent_once_more(provider, wire):
    wire.post(f"{API}/recordings", body=requests.ReadTimeout("timed out"))
    wire.get(
        f"{API}/recordings/active-recording/{MEETING}",
        status=404,
        json=rtk_error(404, "No active recording"),
    )
    wire.post(f"{API}/recordings", json=ok({"id": "rec-2", "status": "INVOKED"}))

    recording = provider.start_recording(MEETING)

    assert recording.recording_id == "rec-2"
    assert [c.request.method for c in wire.calls] == ["POST", "GET", "POST"]


# The token stays secret on every path.


FAILURES = [
    {"status": 400, "json": rtk_error(400, "bad")},
    {"status": 401, "json": gateway_error(10000, f"Invalid token {TOKEN}")},
    {"status": 403, "json": gateway_error(10000, "Authentication error")},
    {"status": 404, "json": rtk_error(404, "not found")},
    {"status": 429, "json": gateway_error(971, "slow down")},
    {"status": 429, "headers": {"Retry-After": "1"}, "json": {}},
    {"status": 500, "json": rtk_error(500, f"echo Bearer {TOKEN}")},
    {"status": 200, "json": rtk_error(1, "success false")},
    {"status": 200, "json": gateway_error(1, "general envelope")},
    {"body": requests.ReadTimeout("timed out")},
    {"body": requests.ConnectionError("connection reset")},
]


@pytest.mark.parametrize("answer", FAILURES)
def test_the_token_is_never_logged_or_shown(provider, wire, caplog, answer, make_session):
    caplog.set_level(logging.DEBUG)
    for _ in range(4):
        wire.post(f"{API}/meetings", **answer)
    wire.assert_all_requests_are_fired = False

    with pytest.raises(RoomProviderError) as caught:
        provider.create_room(make_session())

    assert caught.value.message
    for text in (caplog.text, str(caught.value), repr(caught.value), repr(provider)):
        assert TOKEN not in text
    cause = caught.value.__cause__
    assert cause is None or TOKEN not in f"{cause} {cause!r}"


def test_an_unconfigured_provider_says_which_settings_are_missing(cloudflare_settings):
    cloudflare_settings.CLOUDFLARE_ACCOUNT_ID = ""

    with pytest.raises(RoomProviderInvalidCredentials, match="CLOUDFLARE_ACCOUNT_ID") as caught:
        CloudflareRoomProvider()

    assert TOKEN not in str(caught.value)


def test_cloudflares_own_words_are_scrubbed_of_the_token(provider, wire, caplog, make_session):
    for _ in range(4):
        wire.post(f"{API}/meetings", status=500, json=rtk_error(500, f"echo Bearer {TOKEN}"))

    with pytest.raises(RoomProviderUnavailable) as caught:
        provider.create_room(make_session())

    assert "echo Bearer <redacted>" in str(caught.value)
    assert "retrying in" in caplog.text  # the retries were logged, without the token
    assert TOKEN not in caplog.text
