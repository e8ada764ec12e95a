"""The ZeroDB client at the wire: URLs, auth headers, bodies, answer shapes, errors, retries."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured
from responses import matchers

from sessions_app.storage.client import (
    InvalidCredentials,
    NotFound,
    Rejected,
    Row,
    Unavailable,
    ZeroDBClient,
)
from tests.storage.support import API_KEY, BASE, PROJECT, ROOT, row_answer

DOC = {"id": "5f0c0f9e-0000-4000-8000-000000000001", "title": "Kata"}


def sent_json(call) -> dict:
    return json.loads(call.request.body)


# Addressing and authentication


def test_it_sends_the_api_key_header_by_default(zdb, wire):
    wire.get(f"{ROOT}/tables/training_sessions/rows/r1", json=row_answer("r1", DOC))
    zdb.get_row("training_sessions", "r1")
    request = wire.calls[0].request
    assert request.url == f"{ROOT}/tables/training_sessions/rows/r1"
    assert request.headers["X-API-Key"] == API_KEY
    assert "Authorization" not in request.headers


def test_it_sends_a_bearer_token_when_configured(zerodb_on, wire, sleeps):
    zerodb_on.ZERODB_AUTH_HEADER = "bearer"
    zdb = ZeroDBClient.from_settings(sleep=sleeps.append)
    wire.get(f"{ROOT}/tables/events/rows/r1", json=row_answer("r1", DOC, "events"))
    zdb.get_row("events", "r1")
    request = wire.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert "X-API-Key" not in request.headers


def test_a_copy_calls_the_same_place_the_same_way_on_a_session_of_its_own(zerodb_on, wire, sleeps):
    zerodb_on.ZERODB_AUTH_HEADER = "bearer"
    zerodb_on.ZERODB_PATH_PREFIX = "/api/v1/public/{project_id}/database"
    original = ZeroDBClient.from_settings(sleep=sleeps.append)
    copy = original.copy()
    url = f"{BASE}/api/v1/public/{PROJECT}/database/tables/events/rows/r1"
    wire.get(url, status=503)
    with pytest.raises(Unavailable):
        copy.get_row("events", "r1")
    assert copy._session is not original._session  # a Session is not shared by threads
    assert {call.request.url for call in wire.calls} == {url}
    assert wire.calls[0].request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert (copy.timeout, len(wire.calls), len(sleeps)) == (5.0, 3, 2)  # same retries
    copy.close()
    original.close()


def test_it_uses_the_configured_path_prefix(zerodb_on, wire):
    zerodb_on.ZERODB_PATH_PREFIX = "/api/v1/public/{project_id}/database"
    zdb = ZeroDBClient.from_settings()
    wire.get(f"{BASE}/api/v1/public/{PROJECT}/database/tables", json=[])
    assert zdb.list_tables() == []
    assert wire.calls[0].request.url.startswith(f"{BASE}/api/v1/public/{PROJECT}/database/tables?")


def test_it_quotes_path_segments(zdb, wire):
    wire.delete(f"{ROOT}/tables/events/rows/a%2Fb", status=204)
    zdb.delete_row("events", "a/b")
    assert wire.calls[0].request.url == f"{ROOT}/tables/events/rows/a%2Fb"


def test_it_sends_the_default_timeout(zdb, wire, monkeypatch):
    seen = {}
    original = requests.Session.request

    def spy(self, method, url, **kwargs):
        seen["timeout"] = kwargs.get("timeout")
        return original(self, method, url, **kwargs)

    monkeypatch.setattr(requests.Session, "request", spy)
    wire.get(f"{ROOT}/tables", json={"tables": [], "total": 0})
    zdb.list_tables()
    assert seen["timeout"] == 5.0


def test_settings_problems_are_named(zerodb_on):
    zerodb_on.ZERODB_PATH_PREFIX = "/v1/{project}/database"
    with pytest.raises(ImproperlyConfigured, match="ZERODB_PATH_PREFIX"):
        ZeroDBClient.from_settings()
    zerodb_on.ZERODB_PATH_PREFIX = "/v1/projects/{project_id}/database"
    zerodb_on.ZERODB_PROJECT_ID = ""
    with pytest.raises(ImproperlyConfigured, match="ZERODB_PROJECT_ID"):
        ZeroDBClient.from_settings()
    zerodb_on.ZERODB_API_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="ZERODB_API_KEY"):
        ZeroDBClient.from_settings()


# Tables


def test_create_table_posts_name_schema_and_description(zdb, wire):
    wire.post(f"{ROOT}/tables", status=201, json={"table_id": "t1"})
    assert zdb.create_table("events", {"id": "string"}, "Events") is True
    assert sent_json(wire.calls[0]) == {
        "table_name": "events",
        "schema": {"id": "string"},
        "description": "Events",
    }


@pytest.mark.parametrize("status", [400, 409])
def test_creating_an_existing_table_is_not_an_error(zdb, wire, status):
    wire.post(f"{ROOT}/tables", status=status, json={"detail": "Table 'events' already exists"})
    assert zdb.create_table("events", {"id": "string"}) is False
    assert len(wire.calls) == 1


def test_another_refusal_to_create_a_table_is_an_error(zdb, wire):
    wire.post(f"{ROOT}/tables", status=400, json={"detail": "Invalid schema type 'uuid'"})
    with pytest.raises(Rejected, match="Invalid schema type"):
        zdb.create_table("events", {"id": "uuid"})


@pytest.mark.parametrize(
    "answer",
    [
        {"tables": [{"table_name": "events"}, {"table_name": "training_sessions"}], "total": 2},
        [{"table_name": "events"}, {"table_name": "training_sessions"}],
        ["events", "training_sessions"],
    ],
)
def test_table_lists_are_read_in_every_shape(zdb, wire, answer):
    wire.get(f"{ROOT}/tables", json=answer)
    assert zdb.table_names() == {"events", "training_sessions"}
    assert "limit=1000" in wire.calls[0].request.url


# Rows


@pytest.mark.parametrize("status", [200, 201])
def test_insert_posts_row_data_and_returns_the_row_id(zdb, wire, status):
    wire.post(
        f"{ROOT}/tables/training_sessions/rows",
        status=status,
        json=row_answer("row-1", DOC),
        match=[matchers.json_params_matcher({"row_data": DOC})],
    )
    row = zdb.insert_row("training_sessions", DOC)
    assert row == Row(row_id="row-1", data=DOC)


def test_an_insert_answer_without_row_id_counts_as_unanswered(zdb, wire):
    wire.post(f"{ROOT}/tables/events/rows", status=201, json={"ok": True})
    with pytest.raises(Unavailable, match="no row_id"):
        zdb.insert_row("events", DOC)


def test_replace_puts_the_whole_document(zdb, wire):
    wire.put(
        f"{ROOT}/tables/events/rows/r9",
        json=row_answer("r9", DOC, "events"),
        match=[matchers.json_params_matcher({"row_data": DOC})],
    )
    assert zdb.replace_row("events", "r9", DOC).row_id == "r9"


def test_replace_accepts_an_empty_answer(zdb, wire):
    wire.put(f"{ROOT}/tables/events/rows/r9", status=204)
    assert zdb.replace_row("events", "r9", DOC) == Row("r9", DOC)


@pytest.mark.parametrize("status", [200, 204])
def test_delete_accepts_200_and_204(zdb, wire, status):
    wire.delete(f"{ROOT}/tables/events/rows/r9", status=status)
    zdb.delete_row("events", "r9")
    assert wire.calls[0].request.method == "DELETE"


@pytest.mark.parametrize("shape", ["bare", "rows"])
def test_list_rows_sends_limit_offset_and_skip(zdb, wire, shape):
    page = [row_answer("r1", DOC), row_answer("r2", {"id": "x"})]
    wire.get(
        f"{ROOT}/tables/training_sessions/rows",
        json=page if shape == "bare" else {"rows": page},
        match=[matchers.query_param_matcher({"limit": "2", "offset": "4", "skip": "4"})],
    )
    rows = zdb.list_rows("training_sessions", limit=2, offset=4)
    assert [r.row_id for r in rows] == ["r1", "r2"]


def test_list_rows_caps_the_limit_at_1000(zdb, wire):
    wire.get(f"{ROOT}/tables/events/rows", json=[])
    zdb.list_rows("events", limit=5000)
    assert "limit=1000" in wire.calls[0].request.url


def test_iter_rows_pages_until_a_short_page(zdb, wire):
    wire.get(
        f"{ROOT}/tables/events/rows",
        json=[row_answer("a", {}), row_answer("b", {})],
        match=[matchers.query_param_matcher({"limit": "2", "offset": "0", "skip": "0"})],
    )
    wire.get(
        f"{ROOT}/tables/events/rows",
        json=[row_answer("c", {})],
        match=[matchers.query_param_matcher({"limit": "2", "offset": "2", "skip": "2"})],
    )
    assert [r.row_id for r in zdb.iter_rows("events", page_size=2)] == ["a", "b", "c"]


@pytest.mark.parametrize("shape", ["data", "rows", "bare"])
def test_query_reads_every_answer_shape(zdb, wire, shape):
    found = [row_answer("r1", DOC)]
    wire.post(
        f"{ROOT}/tables/training_sessions/query",
        json=found if shape == "bare" else {shape: found},
        match=[matchers.json_params_matcher({"filter": {"id": DOC["id"]}, "limit": 5, "skip": 0})],
    )
    rows = zdb.query_rows("training_sessions", {"id": DOC["id"]}, limit=5)
    assert rows == [Row("r1", DOC)]


def test_rows_without_row_id_are_skipped_and_json_strings_are_read(zdb, wire):
    wire.post(
        f"{ROOT}/tables/events/query",
        json={"data": [{"row_data": {"id": "x"}}, {"row_id": "r2", "row_data": '{"id": "y"}'}]},
    )
    assert zdb.query_rows("events", {}) == [Row("r2", {"id": "y"})]


def test_an_unexpected_answer_shape_is_unavailable(zdb, wire):
    wire.post(f"{ROOT}/tables/events/query", json={"message": "hello"})
    wire.post(f"{ROOT}/tables/events/query", body="<html>gateway</html>", status=200)
    with pytest.raises(Unavailable, match="unexpected answer shape"):
        zdb.query_rows("events", {})
    with pytest.raises(Unavailable, match="not JSON"):
        zdb.query_rows("events", {})


# Errors


@pytest.mark.parametrize("status", [401, 403])
def test_bad_credentials_are_named_and_not_retried(zdb, wire, sleeps, status):
    wire.get(f"{ROOT}/tables/events/rows/r1", status=status, json={"detail": "Invalid API key"})
    with pytest.raises(InvalidCredentials) as raised:
        zdb.get_row("events", "r1")
    assert raised.value.status == status
    assert len(wire.calls) == 1
    assert sleeps == []


def test_a_missing_row_is_not_found(zdb, wire):
    wire.get(f"{ROOT}/tables/events/rows/r1", status=404, json={"detail": "Row not found"})
    with pytest.raises(NotFound, match="Row not found"):
        zdb.get_row("events", "r1")
    assert len(wire.calls) == 1


@pytest.mark.parametrize("status", [400, 409, 422])
def test_a_rejected_body_is_never_retried(zdb, wire, sleeps, status):
    wire.put(f"{ROOT}/tables/events/rows/r1", status=status, json={"detail": "bad"})
    with pytest.raises(Rejected):
        zdb.replace_row("events", "r1", DOC)
    assert len(wire.calls) == 1
    assert sleeps == []


def test_a_422_names_the_fields(zdb, wire):
    detail = [{"loc": ["body", "row_data", "title"], "msg": "field required", "type": "missing"}]
    wire.post(f"{ROOT}/tables/events/rows", status=422, json={"detail": detail})
    with pytest.raises(Rejected) as raised:
        zdb.insert_row("events", DOC)
    assert raised.value.detail == "row_data.title: field required"
    assert "422" in str(raised.value)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_with_capped_back_off(zdb, wire, sleeps, status):
    wire.get(f"{ROOT}/tables/events/rows/r1", status=status)
    with pytest.raises(Unavailable) as raised:
        zdb.get_row("events", "r1")
    assert raised.value.status == status
    assert len(wire.calls) == 3  # one call and ZERODB_RETRIES=2 retries
    assert sleeps == [0.5, 1.0]


def test_a_retry_that_succeeds_returns_the_answer(zdb, wire, sleeps):
    wire.get(f"{ROOT}/tables/events/rows/r1", status=503)
    wire.get(f"{ROOT}/tables/events/rows/r1", json=row_answer("r1", DOC, "events"))
    assert zdb.get_row("events", "r1").row_id == "r1"
    assert sleeps == [0.5]


def test_the_back_off_is_capped(zerodb_on, wire, sleeps):
    zerodb_on.ZERODB_RETRIES = 5
    zdb = ZeroDBClient.from_settings(sleep=sleeps.append)
    wire.get(f"{ROOT}/tables", status=502)
    with pytest.raises(Unavailable):
        zdb.list_tables()
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_a_short_retry_after_is_honoured(zdb, wire, sleeps):
    wire.get(f"{ROOT}/tables", status=429, headers={"Retry-After": "3"})
    wire.get(f"{ROOT}/tables", json=[])
    assert zdb.list_tables() == []
    assert sleeps == [3.0]


def test_a_long_retry_after_is_handed_to_the_caller_without_waiting(zdb, wire, sleeps):
    wire.get(f"{ROOT}/tables", status=429, headers={"Retry-After": "120"})
    with pytest.raises(Unavailable) as raised:
        zdb.list_tables()
    assert raised.value.retry_after == 120.0
    assert raised.value.status == 429
    assert sleeps == []
    assert len(wire.calls) == 1


def test_retry_after_may_be_an_http_date(zerodb_on, wire, sleeps):
    clock = lambda: datetime(2026, 6, 1, 16, 0, tzinfo=UTC)  # noqa: E731
    zdb = ZeroDBClient.from_settings(sleep=sleeps.append, clock=clock)
    wire.get(f"{ROOT}/tables", status=503, headers={"Retry-After": "Mon, 01 Jun 2026 16:00:07 GMT"})
    wire.get(f"{ROOT}/tables", json=[])
    zdb.list_tables()
    assert sleeps == [7.0]


def test_timeouts_and_lost_connections_are_unavailable(zdb, wire, sleeps):
    wire.get(f"{ROOT}/tables", body=requests.ConnectTimeout("connect timed out"))
    wire.get(f"{ROOT}/tables", body=requests.ReadTimeout("read timed out"))
    wire.get(f"{ROOT}/tables", body=requests.ConnectionError("connection reset"))
    with pytest.raises(Unavailable, match="ConnectionError") as raised:
        zdb.list_tables()
    assert raised.value.status is None
    assert len(wire.calls) == 3


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 503},
        {"status": 500},
        {"status": 429, "headers": {"Retry-After": "1"}},
        {"body": requests.ReadTimeout("read timed out")},
    ],
)
def test_an_insert_is_never_retried_by_the_client(zdb, wire, sleeps, failure):
    wire.post(f"{ROOT}/tables/events/rows", **failure)
    with pytest.raises(Unavailable):
        zdb.insert_row("events", DOC)
    assert len(wire.calls) == 1
    assert sleeps == []


# The credential stays secret


def test_the_api_key_never_reaches_logs_messages_or_reprs(zdb, wire, caplog):
    caplog.set_level(logging.DEBUG)
    echoed = {"detail": f"Invalid API key {API_KEY}"}
    wire.get(f"{ROOT}/tables/events/rows/r1", status=401, json=echoed)
    wire.get(f"{ROOT}/tables", status=503, json=echoed)
    wire.post(f"{ROOT}/tables/events/rows", body=requests.ConnectionError(f"boom {API_KEY}"))
    errors = []
    for call in (
        lambda: zdb.get_row("events", "r1"),
        lambda: zdb.list_tables(),
        lambda: zdb.insert_row("events", DOC),
    ):
        with pytest.raises(Exception) as raised:
            call()
        errors.append(raised.value)
    logging.getLogger("test").error("failed: %s %r", errors, errors)
    texts = [caplog.text, repr(zdb), *map(str, errors), *map(repr, errors)]
    assert all(API_KEY not in text for text in texts)
    assert "[redacted]" in str(errors[0])


def test_the_error_detail_is_kept_for_the_outbox(zdb, wire):
    wire.post(f"{ROOT}/tables/events/rows", status=409, json={"detail": "duplicate id"})
    with pytest.raises(Rejected) as raised:
        zdb.insert_row("events", DOC)
    assert raised.value.detail == "duplicate id"
    assert str(raised.value) == "POST /tables/events/rows -> 409: duplicate id"
