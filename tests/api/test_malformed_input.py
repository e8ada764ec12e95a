"""Whatever a client sends, the answer is a 4xx with a JSON body, never a 500."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import SESSIONS, client_for, url

GOOD = {"title": "Kata", "start_time": "2026-06-02T18:00:00Z", "duration_minutes": 60}

RAW_BODIES = [
    pytest.param("{bad", "parse_error", id="malformed JSON"),
    pytest.param('{"title": "Kata",}', "parse_error", id="trailing comma"),
    pytest.param('{"duration_minutes": NaN}', "parse_error", id="NaN"),
    pytest.param("[" * 100_000, "parse_error", id="nested a hundred thousand deep"),
    pytest.param("[1, 2]", "invalid", id="a list"),
    pytest.param('"Kata"', "invalid", id="a string"),
    pytest.param("42", "invalid", id="a number"),
    pytest.param("null", "invalid", id="null"),
    pytest.param('{"title": "\\ud800"}', "invalid", id="a lone surrogate"),
    pytest.param('{"title": "a\\u0000b"}', "invalid", id="a NUL character"),
    pytest.param('{"duration_minutes": 1' + "0" * 5000 + "}", "parse_error", id="a huge number"),
    pytest.param(b"\xff\xfe{}", "parse_error", id="not UTF-8"),
]

FIELD_VALUES = [
    ("title", {"a": 1}),
    ("title", ["Kata"]),
    ("title", "x" * 1_000_000),
    ("description", 5),
    ("description", "x" * 1_000_000),
    ("start_time", 12345),
    ("start_time", "tomorrow"),
    ("start_time", "2026-02-30T10:00:00Z"),
    ("start_time", "2026-06-02T18:00:00+25:00"),
    ("start_time", "9999-12-31T23:00:00-05:00"),
    ("start_time", "0001-01-01T00:00:00+01:00"),
    ("start_time", "9999-12-31T23:00:00Z"),
    ("start_time", ""),
    ("duration_minutes", "sixty"),
    ("duration_minutes", 60.5),
    ("duration_minutes", True),
    ("duration_minutes", 10**100),
    ("duration_minutes", -(10**100)),
    ("capacity", "lots"),
    ("capacity", []),
    ("capacity", 10**30),
    ("is_public", "maybe"),
    ("members_only", None),
    ("chat_enabled", {"yes": True}),
    ("tags", "kata"),
    ("tags", {"kata": 1}),
    ("tags", [1, 2]),
    ("tags", [None]),
    ("tags", [["nested"]]),
    ("tags", [f"t{i}" for i in range(100_000)]),
    ("tags", ["\x00"]),
    ("event_id", 5),
    ("event_id", []),
    ("event_id", "x" * 10_000),
    ("instructor_id", "abc"),
    ("instructor_id", 10**30),
    ("instructor_id", True),
    ("instructor_id", 1.5),
    ("instructor_id", -1),
    ("status", "live"),
    ("id", "5f0c2b0e-0000-4000-8000-000000000000"),
    ("x" * 10_000, 1),
]


@pytest.fixture
def owner(frozen, instructor):
    return client_for(instructor)


@pytest.mark.parametrize(("raw", "code"), RAW_BODIES)
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_an_unreadable_body_is_a_400(owner, soon, method, raw, code):
    path = SESSIONS if method == "POST" else url(soon())

    response = owner.generic(method, path, raw, content_type="application/json")

    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert response.json()["detail"]


@pytest.mark.parametrize(("field", "value"), FIELD_VALUES)
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_wrong_value_is_a_400_naming_its_field(owner, soon, method, field, value):
    path = SESSIONS if method == "POST" else url(soon())

    response = owner.generic(
        method, path, json.dumps({**GOOD, field: value}), content_type="application/json"
    )

    assert response.status_code == 400, response.content
    assert field in response.json()


def test_a_body_above_the_size_cap_is_a_413(owner):
    response = owner.post(
        SESSIONS, json.dumps({"description": "x" * 3_000_000}), content_type="application/json"
    )

    assert (response.status_code, response.json()["code"]) == (413, "too_large")


def test_a_form_with_too_many_fields_is_a_400(owner):
    form = "&".join(f"f{i}=1" for i in range(1200))

    response = owner.post(SESSIONS, form, content_type="application/x-www-form-urlencoded")

    assert (response.status_code, response.json()["code"]) == (400, "parse_error")


def test_a_broken_multipart_body_is_a_400(owner):
    response = owner.post(SESSIONS, b"--x\r\nnope", content_type="multipart/form-data")

    assert response.status_code == 400


def test_an_unsupported_content_type_is_a_415(owner):
    response = owner.post(SESSIONS, "title=Kata", content_type="text/plain")

    assert (response.status_code, response.json()["code"]) == (415, "unsupported_media_type")


def test_an_unacceptable_accept_header_is_a_406(owner):
    response = owner.get(SESSIONS, HTTP_ACCEPT="application/xml")

    assert (response.status_code, response.json()["code"]) == (406, "not_acceptable")


def test_a_method_an_endpoint_lacks_is_a_405(owner, soon):
    response = owner.put(SESSIONS, GOOD, format="json")
    on_action = owner.get(url(soon(), "/start"))

    assert (response.status_code, response.json()["code"]) == (405, "method_not_allowed")
    assert on_action.status_code == 405


DETAIL_ROUTES = [
    ("GET", ""),
    ("PUT", ""),
    ("PATCH", ""),
    ("DELETE", ""),
    ("POST", "/start"),
    ("POST", "/end"),
    ("GET", "/can-join"),
    ("POST", "/join"),
    ("POST", "/leave"),
    ("POST", "/registration"),
    ("DELETE", "/registration"),
    ("GET", "/attendance"),
    ("GET", "/calendar.ics"),
]


@pytest.mark.parametrize("pk", ["42", "not-a-uuid", "5f0c2b0e-0000-4000-8000-00000000000Z", "%00"])
@pytest.mark.parametrize(("method", "suffix"), DETAIL_ROUTES)
def test_an_id_that_is_no_uuid_is_a_404_on_every_route(admin_user, method, suffix, pk):
    response = client_for(admin_user).generic(
        method, url(pk, suffix), json.dumps(GOOD), content_type="application/json"
    )

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "path", ["/api/events/42", "/api/events/public/42", "/api/nowhere", f"{SESSIONS}/a/b/c"]
)
def test_unknown_api_addresses_are_json_404s(admin_user, path):
    response = client_for(admin_user).get(path)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer a b", "Bearer " + "x" * 10_000, "Bearer \u00e9t\u00e9"],
)
def test_a_malformed_authorization_header_is_a_401(db, header):
    from rest_framework.test import APIClient

    response = APIClient().get(SESSIONS, HTTP_AUTHORIZATION=header)

    assert response.status_code == 401


def test_an_authorization_scheme_we_do_not_use_is_ignored(db):
    from rest_framework.test import APIClient

    response = APIClient().get(SESSIONS, HTTP_AUTHORIZATION="Basic bWlhOnB3")

    assert response.status_code == 200
