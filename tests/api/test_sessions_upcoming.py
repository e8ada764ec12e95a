"""``GET /api/training/sessions/upcoming``: scheduled sessions still to start, soonest first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessions_app.models import SessionStatus
from tests.api.conftest import SESSIONS, client_for
from tests.conftest import NOW

UPCOMING = f"{SESSIONS}/upcoming"
HOUR = timedelta(hours=1)


def titles(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["title"] for row in response.json()["results"]]


@pytest.fixture
def sessions(make_session, other_instructor):
    make_session(title="Tomorrow", start_time=NOW + 24 * HOUR)
    make_session(title="Soon", start_time=NOW + HOUR, instructor=other_instructor)
    make_session(title="Running", start_time=NOW - HOUR / 2, status=SessionStatus.LIVE)
    make_session(title="Started late", start_time=NOW - HOUR / 4)
    make_session(title="Called off", start_time=NOW + 2 * HOUR, status=SessionStatus.CANCELED)
    make_session(title="Public", start_time=NOW + 3 * HOUR, is_public=True)


def test_only_scheduled_sessions_in_the_future_soonest_first(frozen, member, sessions):
    assert titles(client_for(member).get(UPCOMING)) == ["Soon", "Public", "Tomorrow"]


def test_filtered_by_instructor(frozen, member, sessions, other_instructor):
    response = client_for(member).get(UPCOMING, {"instructor": other_instructor.pk})

    assert titles(response) == ["Soon"]


def test_limited(frozen, member, sessions):
    page = client_for(member).get(UPCOMING, {"limit": 1}).json()

    assert (page["count"], [row["title"] for row in page["results"]]) == (3, ["Soon"])


def test_anonymous_visitors_see_only_public_ones(frozen, anon, sessions):
    assert titles(anon.get(UPCOMING)) == ["Public"]


def test_a_bad_instructor_is_a_400(frozen, member, sessions):
    assert client_for(member).get(UPCOMING, {"instructor": "kenji"}).status_code == 400


@pytest.mark.parametrize("count", [1, 50])
def test_it_costs_three_queries_whatever_the_count(
    frozen, member, make_session, django_assert_max_num_queries, count
):
    for i in range(count):
        make_session(title=f"S{i}", start_time=NOW + (i + 1) * HOUR, capacity=3)
    client = client_for(member)

    # The user (JWT), the count, the page.
    with django_assert_max_num_queries(3):
        response = client.get(UPCOMING, {"limit": 100})

    assert response.json()["count"] == count
