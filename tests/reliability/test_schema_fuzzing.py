"""Schemathesis over the served OpenAPI document, against a live server on 127.0.0.1, as
every role: no generated request makes the server fail, and every answer conforms to the
schema (a documented status, the documented content type and headers, a body that
validates).

``tests/api/test_schemathesis.py`` looks for server errors only, as an admin and as a
member; this suite adds the conformance checks and the other roles (anonymous, public,
instructor, board member). Bounded and derandomised: the same cases on every run.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import schemathesis
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis import GenerationMode, checks
from schemathesis.core.failures import Failure, FailureGroup

from events_app.models import Event
from sessions_app.models import RoomStatus, SessionAttendance, SessionStatus

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("unthrottled")]

EXAMPLES_PER_OPERATION = 6
ROLES = ["anonymous", "public", "member", "instructor", "board_member", "admin"]
CONFORMANCE = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
# A body every rule accepts, so that creates and updates also succeed now and then.
VALID_BODY = {
    "title": "Fuzzed class",
    "start_time": "2031-01-01T18:00:00Z",
    "duration_minutes": 60,
    "capacity": 3,
    "tags": ["kata"],
}
# Reads first, the lifecycle last, so that cancels and ends leave the rest something to do.
RANK = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 2, "DELETE": 4}


@pytest.fixture
def schema(live_server):
    response = requests.get(f"{live_server.url}/api/schema?format=json", timeout=10)
    response.raise_for_status()
    return schemathesis.openapi.from_dict(response.json())


@pytest.fixture
def known_ids(make_session, member) -> list[str]:
    """Sessions in every state and two events, so generated calls also reach real rows."""
    now = timezone.now()
    public = Event.objects.create(
        title="Open", starts_at=now, ends_at=now + timedelta(days=3), is_public=True
    )
    private = Event.objects.create(title="Closed", starts_at=now, ends_at=now + timedelta(days=3))
    sessions = [
        make_session(start_time=now + timedelta(minutes=5), event=public, is_public=True),
        make_session(start_time=now + timedelta(days=2), capacity=1, event=private),
        make_session(
            start_time=now - timedelta(minutes=10),
            status=SessionStatus.LIVE,
            room_status=RoomStatus.READY,
            room_id="local-live",
            is_public=True,
        ),
        make_session(start_time=now - timedelta(days=1), status=SessionStatus.ENDED),
        make_session(start_time=now + timedelta(days=3), status=SessionStatus.CANCELED),
    ]
    SessionAttendance.objects.create(session=sessions[2], user=member, joined_at=now)
    return [str(s.pk) for s in sessions] + [str(public.pk), str(private.pk)]


def order(operation) -> tuple[int, str]:
    rank = RANK[operation.method.upper()]
    if operation.path.endswith(("/start", "/end")):
        rank = 3
    return rank, operation.path


def cases(operation, known_ids: list[str]):
    """Valid and invalid calls, plus valid ones on real rows and with an acceptable body."""
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    method = operation.method.upper()
    takes_body = operation.path.startswith("/api/training/sessions") and (
        method in {"PUT", "PATCH"} or (method == "POST" and operation.path.endswith("sessions"))
    )
    for pk in known_ids if "{id}" in operation.path else [None]:
        fixed = {"path_parameters": {"id": pk}} if pk else {}
        if takes_body:
            fixed.update(body=VALID_BODY, media_type="application/json")
        if fixed:
            strategies.append(operation.as_strategy(GenerationMode.POSITIVE, **fixed))
    return st.one_of(strategies)


def fuzz(operation, known_ids, base_url: str, user, failures: list[str], seen: set) -> None:
    """Call one operation with generated cases as ``user``; note every nonconformity and
    every status seen."""
    headers = {"Authorization": f"Bearer {AccessToken.for_user(user)}"} if user else {}
    role = user.role if user else "anonymous"

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases(operation, known_ids))
    def call(case):
        response = case.call(base_url=base_url, headers=headers, timeout=10)
        seen.add(response.status_code)
        try:
            case.validate_response(response, checks=CONFORMANCE, headers=headers)
        except (Failure, FailureGroup) as failure:
            failures.append(
                f"{case.method} {case.formatted_path} as {role} -> {response.status_code}: "
                f"{str(failure).strip()[:400]}"
            )

    call()


@pytest.mark.parametrize("role", ROLES)
def test_every_answer_to_generated_requests_conforms_to_the_schema(
    live_server, schema, known_ids, cast, role
):
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=order)
    assert len(operations) == 21
    failures: list[str] = []
    seen: set[int] = set()

    for operation in operations:
        fuzz(operation, known_ids, live_server.url, cast[role], failures, seen)

    assert failures == []
    # Real answers were checked, not only refusals.
    assert 200 in seen and {400, 404} <= seen
