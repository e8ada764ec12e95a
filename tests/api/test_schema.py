"""The OpenAPI 3 document: valid, complete, served offline, and true to real answers."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
import schemathesis
from django.core.management import call_command
from django.http import StreamingHttpResponse

from sessions_app.models import SessionAttendance, SessionStatus
from tests.api.conftest import SESSIONS, client_for, url
from tests.conftest import NOW

# Every method and path of SPEC §9 this API serves (the webhook is the rooms' own view).
SPEC_OPERATIONS = {
    ("POST", "/api/auth/token"),
    ("POST", "/api/auth/token/refresh"),
    ("POST", "/api/training/sessions"),
    ("GET", "/api/training/sessions"),
    ("GET", "/api/training/sessions/upcoming"),
    ("GET", "/api/training/sessions/{id}"),
    ("PUT", "/api/training/sessions/{id}"),
    ("PATCH", "/api/training/sessions/{id}"),
    ("DELETE", "/api/training/sessions/{id}"),
    ("POST", "/api/training/sessions/{id}/start"),
    ("POST", "/api/training/sessions/{id}/end"),
    ("GET", "/api/training/sessions/{id}/can-join"),
    ("POST", "/api/training/sessions/{id}/join"),
    ("POST", "/api/training/sessions/{id}/leave"),
    ("POST", "/api/training/sessions/{id}/registration"),
    ("DELETE", "/api/training/sessions/{id}/registration"),
    ("GET", "/api/training/sessions/{id}/attendance"),
    ("GET", "/api/training/sessions/{id}/calendar.ics"),
    ("GET", "/api/events"),
    ("GET", "/api/events/{id}"),
    ("GET", "/api/events/public/{id}"),
}


@pytest.fixture(scope="module")
def document() -> dict:
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    raw = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(raw))


@pytest.fixture(scope="module")
def openapi(document):
    return schemathesis.openapi.from_dict(document)


def test_the_schema_validates_with_no_warning(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))

    assert (tmp_path / "s.yml").read_text().startswith("openapi: 3.0.3")


def test_it_documents_exactly_the_spec_paths(document):
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }

    assert documented == SPEC_OPERATIONS


def test_every_operation_documents_its_errors(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"401", "429"} <= statuses, (method, path)
            if "{id}" in path:
                assert "404" in statuses, (method, path)


def test_the_schema_is_served_as_yaml_and_json(db, anon):
    yaml = anon.get("/api/schema")
    as_json = anon.get("/api/schema", {"format": "json"})

    assert yaml.status_code == 200
    assert yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    assert as_json.json()["openapi"] == "3.0.3"


def test_the_docs_page_loads_swagger_ui_from_this_site(db, anon):
    response = anon.get("/api/docs")

    page = response.content.decode()
    assert response.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn." not in page and "unpkg" not in page
    assert "/api/schema" in page


def as_schemathesis_response(response, method: str, path: str) -> schemathesis.Response:
    """A Django test response in the shape schemathesis validates."""
    if isinstance(response, StreamingHttpResponse):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    return schemathesis.Response(
        status_code=response.status_code,
        headers={name.lower(): [value] for name, value in response.items()},
        content=content,
        request=requests.Request(method, f"http://testserver{path}").prepare(),
        elapsed=0.0,
        verify=True,
    )


@pytest.fixture
def exchanges(frozen, cast, soon, make_session, event, member, instructor):
    """Real requests to the main endpoints, with the answers they get."""
    session = soon(event=event, capacity=5, tags=["kata"], is_public=True)
    live = make_session(
        title="Live", status=SessionStatus.LIVE, start_time=NOW - timedelta(minutes=5)
    )
    SessionAttendance.objects.create(session=live, user=member, joined_at=NOW, left_at=NOW)
    owner = client_for(instructor)
    admin = client_for(cast["admin"])
    body = {"title": "New", "start_time": "2026-06-05T10:00:00Z", "duration_minutes": 60}
    calls = [
        (client_for(None), "GET", SESSIONS, None),
        (client_for(member), "GET", SESSIONS, None),
        (client_for(member), "GET", f"{SESSIONS}?status=bogus", None),
        (client_for(member), "GET", f"{SESSIONS}/upcoming", None),
        (client_for(member), "GET", url(session), None),
        (client_for(None), "GET", url(live), None),
        (client_for(member), "GET", url(session, "/can-join"), None),
        (client_for(member), "POST", url(session, "/join"), None),
        (client_for(member), "POST", url(session, "/leave"), None),
        (client_for(member), "POST", url(live, "/leave"), None),
        (client_for(cast["public"]), "POST", url(session, "/join"), None),
        (client_for(member), "POST", url(session, "/registration"), None),
        (client_for(member), "DELETE", url(session, "/registration"), None),
        (owner, "GET", url(session, "/attendance"), None),
        (client_for(member), "GET", url(session, "/attendance"), None),
        (owner, "POST", SESSIONS, body),
        (owner, "POST", SESSIONS, {"title": ""}),
        (owner, "PATCH", url(session), {"title": "Renamed"}),
        (owner, "POST", url(session, "/start"), None),
        (owner, "POST", url(session, "/start"), None),
        (owner, "POST", url(live, "/end"), None),
        (admin, "DELETE", url(live), None),
        (client_for(member), "GET", "/api/events", None),
        (client_for(member), "GET", f"/api/events/{event.pk}", None),
        (client_for(None), "GET", f"/api/events/public/{event.pk}", None),
        (client_for(None), "GET", "/api/events", None),
        (client_for(None), "POST", "/api/auth/token", {"username": "mia", "password": "pw"}),
        (client_for(None), "POST", "/api/auth/token", {"username": "mia", "password": "x"}),
    ]
    return [
        (method, path, client.generic(method, path, json.dumps(data) if data else "",
                                      content_type="application/json"))
        for client, method, path, data in calls
    ]  # fmt: skip


def test_real_answers_of_the_main_endpoints_conform_to_the_schema(document, openapi, exchanges):
    seen = set()
    for method, path, response in exchanges:
        operation = openapi.find_operation_by_path(method, path.split("?")[0])
        assert operation is not None, (method, path)
        documented = document["paths"][operation.path][method.lower()]["responses"]
        assert str(response.status_code) in documented, (method, path, response.status_code)
        seen.add(response.status_code)
        operation.validate_response(as_schemathesis_response(response, method, path))

    assert {200, 201, 204, 400, 401, 403, 404, 409} <= seen
