"""Schemathesis over the served OpenAPI document, against a live server on 127.0.0.1, as
every role: no generated request makes the server fail, and every answer conforms to the
schema (a documented status, the documented content type and headers, a body that
validates).

``tests/api/test_schemathesis.py`` looks for server errors only, as an admin and as a
member; this suite adds the conformance checks and the other roles (anonymous, public,
instructor, board member). Bounded and derandomised: the same cases on every run.
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import given
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis import checks
from schemathesis.core.failures import Failure, FailureGroup

from tests.fuzzing import cases, fuzz_settings, make_known_ids, order

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


@pytest.fixture
def schema(live_server):
    response = requests.get(f"{live_server.url}/api/schema?format=json", timeout=10)
    response.raise_for_status()
    return schemathesis.openapi.from_dict(response.json())


@pytest.fixture
def known_ids(make_session, member) -> list[str]:
    return make_known_ids(make_session, member)


def fuzz(operation, known_ids, base_url: str, user, failures: list[str], seen: set) -> None:
    """Call one operation with generated cases as ``user``; note every nonconformity and
    every status seen."""
    headers = {"Authorization": f"Bearer {AccessToken.for_user(user)}"} if user else {}
    role = user.role if user else "anonymous"

    @fuzz_settings(EXAMPLES_PER_OPERATION)
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
