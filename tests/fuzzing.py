"""What both schema-fuzzing suites share: real rows to aim at, the order of operations,
and the cases generated for each one.

``tests/api/test_schemathesis.py`` looks for server errors as an admin and a member;
``tests/reliability/test_schema_fuzzing.py`` checks conformance as every role.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from events_app.models import Event
from sessions_app.models import RoomStatus, SessionAttendance, SessionStatus

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


def make_known_ids(make_session, member) -> list[str]:
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
    """Sort key: reads, writes, start/end, then cancels."""
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


def fuzz_settings(max_examples: int):
    """Hypothesis settings for one operation: bounded and derandomised (same cases in CI)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
