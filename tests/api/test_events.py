"""``/api/events``, ``/api/events/{id}`` and ``/api/events/public/{id}``: no session leaks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from events_app.models import Event
from sessions_app.models import SessionAttendance, SessionStatus
from tests.api.conftest import client_for
from tests.conftest import NOW, make_user
from wwmaa.models import Role

EVENTS = "/api/events"


@pytest.fixture
def events(make_session):
    """A public event with a public and a hidden session, and a private event."""
    public = Event.objects.create(
        title="Open seminar",
        starts_at=NOW,
        ends_at=NOW + timedelta(days=2),
        is_public=True,
        location="Dojo Nord",
    )
    private = Event.objects.create(
        title="Board retreat", starts_at=NOW + timedelta(days=5), ends_at=NOW + timedelta(days=6)
    )
    make_session(title="Open class", event=public, is_public=True)
    make_session(title="Members class", event=public, start_time=NOW + timedelta(hours=5))
    make_session(
        title="Old class",
        event=public,
        is_public=True,
        status=SessionStatus.ENDED,
        start_time=NOW - timedelta(days=9),
        archived_at=NOW - timedelta(days=1),
    )
    make_session(title="Retreat class", event=private, start_time=NOW + timedelta(days=5))
    return public, private


def titles(rows) -> list[str]:
    return [row["title"] for row in rows]


def test_the_event_list_needs_a_login(frozen, anon, events):
    response = anon.get(EVENTS)

    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")


def test_members_list_every_event_in_pages(frozen, member, events):
    page = client_for(member).get(EVENTS).json()

    assert page["count"] == 2
    assert titles(page["results"]) == ["Open seminar", "Board retreat"]
    assert page["results"][0] == {
        "id": str(events[0].pk),
        "title": "Open seminar",
        "description": "",
        "starts_at": "2026-06-01T16:00:00Z",
        "ends_at": "2026-06-03T16:00:00Z",
        "timezone": "America/Los_Angeles",
        "location": "Dojo Nord",
        "is_public": True,
        "created_at": "2026-06-01T16:00:00Z",
        "updated_at": "2026-06-01T16:00:00Z",
    }


def test_public_accounts_list_only_public_events(frozen, public_user, events):
    assert titles(client_for(public_user).get(EVENTS).json()["results"]) == ["Open seminar"]


def test_a_members_event_detail_has_every_current_session(frozen, member, events):
    data = client_for(member).get(f"{EVENTS}/{events[0].pk}").json()

    assert titles(data["training_sessions"]) == ["Open class", "Members class"]
    assert data["training_sessions"][0]["can_join"]["reason"] == "too_early"


def test_a_public_accounts_event_detail_has_only_public_sessions(frozen, public_user, events):
    data = client_for(public_user).get(f"{EVENTS}/{events[0].pk}").json()

    assert titles(data["training_sessions"]) == ["Open class"]


@pytest.mark.parametrize("pk", ["private", "missing", "not-a-uuid"])
def test_an_event_a_public_account_may_not_see_is_not_found(frozen, public_user, events, pk):
    ids = {
        "private": events[1].pk,
        "missing": "5f0c2b0e-0000-4000-8000-000000000000",
        "not-a-uuid": "camp",
    }

    response = client_for(public_user).get(f"{EVENTS}/{ids[pk]}")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


@pytest.mark.parametrize("role", ["anonymous", "public", "member", "admin"])
def test_the_public_event_shows_only_public_sessions_to_anyone(frozen, cast, events, role):
    response = client_for(cast[role]).get(f"{EVENTS}/public/{events[0].pk}")

    assert response.status_code == 200
    assert titles(response.json()["training_sessions"]) == ["Open class"]


@pytest.mark.parametrize("role", ["anonymous", "admin"])
def test_a_private_event_has_no_public_page_even_for_admins(frozen, cast, events, role):
    response = client_for(cast[role]).get(f"{EVENTS}/public/{events[1].pk}")

    assert response.status_code == 404


def test_the_public_event_tells_anonymous_visitors_to_log_in_to_join(frozen, anon, events):
    data = anon.get(f"{EVENTS}/public/{events[0].pk}").json()

    assert data["training_sessions"][0]["can_join"]["reason"] == "login_required"


class TestQueryCount:
    @pytest.fixture
    def event_with(self, make_session, instructor):
        def make(count: int) -> Event:
            event = Event.objects.create(
                title="Camp", starts_at=NOW, ends_at=NOW + timedelta(days=90), is_public=True
            )
            watcher = make_user("watcher", Role.MEMBER)
            for i in range(count):
                session = make_session(
                    title=f"Class {i}",
                    event=event,
                    start_time=NOW + timedelta(hours=i + 1),
                    capacity=5,
                    is_public=True,
                )
                SessionAttendance.objects.create(session=session, user=watcher, joined_at=NOW)
            return event

        return make

    @pytest.mark.parametrize("count", [1, 50])
    def test_the_event_detail_costs_three_queries(
        self, frozen, member, event_with, django_assert_max_num_queries, count
    ):
        event = event_with(count)
        client = client_for(member)

        # The user (JWT), the event, its sessions.
        with django_assert_max_num_queries(3):
            response = client.get(f"{EVENTS}/{event.pk}")

        assert len(response.json()["training_sessions"]) == count

    @pytest.mark.parametrize("count", [1, 50])
    def test_the_public_event_costs_two_queries(
        self, frozen, anon, event_with, django_assert_max_num_queries, count
    ):
        event = event_with(count)

        # The event, its sessions.
        with django_assert_max_num_queries(2):
            response = anon.get(f"{EVENTS}/public/{event.pk}")

        assert len(response.json()["training_sessions"]) == count

    @pytest.mark.parametrize("count", [1, 50])
    def test_the_event_list_costs_three_queries(
        self, frozen, member, django_assert_max_num_queries, count
    ):
        for i in range(count):
            Event.objects.create(title=f"Event {i}", starts_at=NOW, ends_at=NOW + timedelta(days=1))
        client = client_for(member)

        # The user (JWT), the count, the page.
        with django_assert_max_num_queries(3):
            response = client.get(EVENTS, {"limit": 100})

        assert response.json()["count"] == count
