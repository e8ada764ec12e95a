"""Schemathesis against a live server on 127.0.0.1: no input in the schema's reach, valid
or not, makes the server fail.

Every operation of the generated schema is called with data that fits it and with data
that does not, as an admin and as a member (JWT), on ids of real sessions and events in
every state as well as on random ones. Bounded (a few examples per operation, derandomised
so that CI runs the same cases every time) to stay well under a minute.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import given
from rest_framework_simplejwt.tokens import AccessToken

from tests.conftest import make_user
from tests.fuzzing import cases, fuzz_settings, make_known_ids, order
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
def known_ids(make_session, member) -> list[str]:
    return make_known_ids(make_session, member)


def fuzz(operation, known_ids: list[str], base_url: str, user, failures: list[str]) -> None:
    """Call one operation with generated cases as ``user``; note every 5xx in ``failures``."""
    headers = {"Authorization": f"Bearer {AccessToken.for_user(user)}"}

    @fuzz_settings(EXAMPLES_PER_OPERATION)
    @given(case=cases(operation, known_ids))
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
