"""``GET /api/training/sessions/{id}``: the session's shape, and 404 for what is hidden."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sessions_app.models import SessionAttendance, SessionRegistration
from tests.api.conftest import client_for, url
from tests.conftest import NOW, make_user
from wwmaa.models import Role

PUBLIC_FIELDS = {
    "id",
    "title",
    "description",
    "event",
    "instructor",
    "start_time",
    "duration_minutes",
    "end_time",
    "capacity",
    "seats_left",
    "status",
    "started_at",
    "ended_at",
    "canceled_at",
    "end_reason",
    "room_status",
    "recording_enabled",
    "recording_status",
    "chat_enabled",
    "is_public",
    "members_only",
    "tags",
    "archived_at",
    "created_at",
    "updated_at",
    "can_join",
    "registered",
}


@pytest.fixture
def session(soon, event):
    return soon(
        title="Kata fundamentals",
        description="Heian shodan, slowly.",
        event=event,
        capacity=12,
        tags=["kata", "beginners"],
        recording_enabled=True,
    )


def test_it_shows_every_public_field_and_nothing_of_the_provider(frozen, member, session):
    data = client_for(member).get(url(session)).json()

    assert set(data) == PUBLIC_FIELDS
    assert not {"room_id", "room_url", "recording_id", "recording_url"} & set(data)


def test_it_shows_the_session_as_stored(frozen, member, session, instructor, event):
    data = client_for(member).get(url(session)).json()

    assert data["id"] == str(session.pk)
    assert data["title"] == "Kata fundamentals"
    assert data["description"] == "Heian shodan, slowly."
    assert data["instructor"] == {"id": instructor.pk, "name": "Kenji Sato"}
    assert data["event"] == {"id": str(event.pk), "title": "Winter camp"}
    assert data["duration_minutes"] == 60
    assert data["capacity"] == 12
    assert data["seats_left"] == 12
    assert data["status"] == "scheduled"
    assert data["tags"] == ["kata", "beginners"]
    assert (data["recording_enabled"], data["chat_enabled"]) == (True, True)
    assert (data["is_public"], data["members_only"]) == (False, True)
    assert data["registered"] is False


def test_times_are_iso_8601_with_an_offset_and_end_time_is_derived(frozen, member, session):
    data = client_for(member).get(url(session)).json()

    start = datetime.fromisoformat(data["start_time"])
    end = datetime.fromisoformat(data["end_time"])
    assert data["start_time"] == "2026-06-01T16:05:00Z"
    assert start.utcoffset() == timedelta(0)
    assert end - start == timedelta(minutes=60)
    assert datetime.fromisoformat(data["created_at"]) == NOW


def test_times_are_in_utc_whatever_zone_the_browser_session_activates(frozen, member, session):
    client = client_for(None)
    client.force_login(member)  # Europe/Berlin: the pages' middleware activates it

    assert client.get(url(session)).json()["start_time"] == "2026-06-01T16:05:00Z"


def test_it_carries_the_can_join_answer_for_the_caller(frozen, member, public_user, anon, session):
    mine = client_for(member).get(url(session)).json()["can_join"]

    assert mine == {
        "can_join": True,
        "reason": "ok",
        "message": "You can join now.",
        "opens_at": "2026-06-01T15:55:00Z",
        "seats_left": 12,
    }
    session.is_public = True
    session.save()
    assert client_for(public_user).get(url(session)).json()["can_join"]["reason"] == "members_only"
    assert anon.get(url(session)).json()["can_join"]["reason"] == "login_required"


def test_a_session_without_event_or_capacity_says_null(frozen, member, soon):
    data = client_for(member).get(url(soon())).json()

    assert (data["event"], data["capacity"], data["seats_left"]) == (None, None, None)


def test_registered_is_true_once_the_caller_has_registered(frozen, member, session):
    SessionRegistration.objects.create(session=session, user=member)

    assert client_for(member).get(url(session)).json()["registered"] is True


@pytest.mark.parametrize("role", ["anonymous", "public"])
def test_a_non_public_session_is_not_found_for_those_who_may_not_see_it(
    frozen, cast, session, role
):
    response = client_for(cast[role]).get(url(session))

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.parametrize(
    "pk",
    ["0b7e7e0e-0000-4000-8000-000000000000", "not-a-uuid", "123", "%20", "ü"],
)
def test_a_missing_session_or_an_id_that_is_no_uuid_is_not_found(frozen, member, pk):
    response = client_for(member).get(url(pk))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("count", [1, 50])
def test_the_detail_costs_the_same_queries_whatever_the_sessions_and_attendance(
    frozen, member, session, make_session, django_assert_max_num_queries, count
):
    for i in range(count):
        make_session(title=f"Other {i}", start_time=NOW + timedelta(days=i + 1))
        user = make_user(f"attendee{i}", Role.MEMBER)
        SessionAttendance.objects.create(session=session, user=user, joined_at=NOW)
    client = client_for(member)

    # The user (JWT) and the session with its counts.
    with django_assert_max_num_queries(2):
        response = client.get(url(session))

    assert response.json()["seats_left"] == max(12 - count, 0)
