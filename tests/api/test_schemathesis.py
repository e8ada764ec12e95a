"""Schemathesis against a live server on 127.0.0.1: no input in the schema's reach, valid
or not, makes the server fail.

Every operation of the generated schema is called with data that fits it and with data
that does not, as an admin and as a member (JWT), on ids of real sessions and events in
every state as well as on random ones. Bounded (a few examples per operation, derandomised
so that CI runs the same cases every time) to stay well under a minute.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis import GenerationMode

from events_app.models import Event
from sessions_app.models import RoomStatus, SessionAttendance, SessionStatus
from tests.conftest import make_user
from wwmaa.models import Role

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES_PER_OPERATION = 15


@pytest.fixture
def document(live_server) -> dict:
    import requests

    response = requests.get(f"{live_server.url}/api/schema?format=json", timeout=10)
    response.raise_for_status()
    return response.json()


@pytest.fixture
def known_ids(make_session, instructor, member) -> list[str]:
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
        ),
        make_session(start_time=now - timedelta(days=1), status=SessionStatus.ENDED),
        make_session(start_time=now + timedelta(days=3), status=SessionStatus.CANCELED),
    ]
    SessionAttendance.objects.create(session=sessions[2], user=member, joined_at=now)
    return [str(s.pk) for s in sessions] + [str(public.pk), str(private.pk)]


# A body every rule accepts, so that creates and updates also succeed now and then.
VALID_BODY = {
    "title": "Fuzzed class",
    "start_time": "2031-01-01T18:00:00Z",
    "duration_minutes": 60,
    "capacity": 3,
    "tags": ["kata"],
}
# Reads first and the lifecycle last, so that canceling and ending do not close every
# session before the other operations have had their turn on it.
ORDER = {"GET": 0, "POST": 1, "PATCH": 2, "PUT": 2, "DELETE": 4}


def order(operation) -> tuple[int, str]:
    rank = ORDER[operation.method.upper()]
    if operation.path.endswith(("/start", "/end")):
        rank = 3
    return rank, operation.path


def strategy_for(operation, known_ids: list[str]):
    """Random valid and invalid calls, plus valid ones on real rows and with a valid body."""
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    takes_body = operation.path.startswith("/api/training/sessions") and (
        operation.method.upper() in {"PUT", "PATCH"}
        or (operation.method.upper() == "POST" and operation.path.endswith("sessions"))
    )
    for pk in known_ids if "{id}" in operation.path else [None]:
        fixed = {"path_parameters": {"id": pk}} if pk else {}
        if takes_body:
            fixed.update(body=VALID_BODY, media_type="application/json")
        if fixed:
            strategies.append(operation.as_strategy(GenerationMode.POSITIVE, **fixed))
    return st.one_of(strategies)


def fuzz(operation, known_ids: list[str], base_url: str, user, failures: list[str]) -> None:
    """Call one operation with generated cases as ``user``; note every 5xx in ``failures``."""
    headers = {"Authorization": f"Bearer {AccessToken.for_user(user)}"}

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy_for(operation, known_ids))
    def call(case):
        response = case.call(base_url=base_url, headers=headers, timeout=10)
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path}?{case.query or ''} as {user.role}: "
                f"{response.status_code} for {case.body!r:.300}"
            )

    call()


def test_no_generated_request_makes_the_server_fail(
    live_server, document, known_ids, rates, admin_user
):
    rates(anon="100000/min", user="100000/min", token="100000/min", join="100000/min")
    member = make_user("fuzzing-member", Role.MEMBER)
    schema = schemathesis.openapi.from_dict(document)
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=order)
    assert len(operations) == 21
    server_errors: list[str] = []

    # The member first: the admin's cancels and ends would leave the member little to do.
    for user in (member, admin_user):
        for operation in operations:
            fuzz(operation, known_ids, live_server.url, user, server_errors)

    assert server_errors == []
