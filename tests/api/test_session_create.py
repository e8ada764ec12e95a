"""``POST /api/training/sessions``: the create body of SPEC §9 and its field errors."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest

from sessions_app.models import SessionStatus, TrainingSession
from tests.api.conftest import SESSIONS, client_for
from tests.conftest import NOW

START = "2026-06-02T18:00:00Z"


def create(user, **data):
    return client_for(user).post(SESSIONS, data, format="json")


def test_an_instructor_creates_a_session_they_teach(frozen, instructor, event):
    response = create(
        instructor,
        event_id=str(event.pk),
        title="  Evening kata  ",
        description="Bring a bo.",
        start_time=START,
        duration_minutes=90,
        capacity=20,
        recording_enabled=True,
        chat_enabled=False,
        is_public=True,
        members_only=False,
        tags=["Kata", "bo"],
    )

    assert response.status_code == 201, response.json()
    data = response.json()
    session = TrainingSession.objects.get(pk=data["id"])
    assert response["Location"] == f"http://testserver{SESSIONS}/{session.pk}"
    assert session.instructor == instructor
    assert session.event == event
    assert session.status == SessionStatus.SCHEDULED
    assert data["title"] == "Evening kata"
    assert data["instructor"]["id"] == instructor.pk
    assert data["start_time"] == START
    assert data["end_time"] == "2026-06-02T19:30:00Z"
    assert (data["capacity"], data["seats_left"]) == (20, 20)
    assert (data["recording_enabled"], data["chat_enabled"]) == (True, False)
    assert (data["is_public"], data["members_only"]) == (True, False)
    assert data["tags"] == ["kata", "bo"]
    assert data["room_status"] == "pending"


def test_the_smallest_body_takes_the_defaults(frozen, instructor):
    response = create(instructor, title="Kata", start_time=START, duration_minutes=60)

    data = response.json()
    assert response.status_code == 201
    assert data["event"] is None
    assert data["capacity"] is None
    assert (data["is_public"], data["members_only"]) == (False, True)
    assert (data["recording_enabled"], data["chat_enabled"]) == (False, True)
    assert data["tags"] == []


def test_a_start_time_with_an_offset_is_stored_and_shown_in_utc(frozen, instructor):
    response = create(
        instructor, title="Kata", start_time="2026-06-02T20:00:00+02:00", duration_minutes=60
    )

    assert response.json()["start_time"] == "2026-06-02T18:00:00Z"


@pytest.mark.parametrize("role", ["board_member", "admin"])
def test_board_members_and_admins_may_name_the_instructor(frozen, cast, instructor, role):
    response = create(
        cast[role], title="Kata", start_time=START, duration_minutes=60, instructor_id=instructor.pk
    )

    assert response.status_code == 201
    assert response.json()["instructor"] == {"id": instructor.pk, "name": "Kenji Sato"}


def test_an_instructor_may_not_name_another_instructor(frozen, instructor, other_instructor):
    response = create(
        instructor,
        title="Kata",
        start_time=START,
        duration_minutes=60,
        instructor_id=other_instructor.pk,
    )

    assert response.status_code == 400
    assert response.json()["instructor_id"] == [
        "Only board members and admins may choose another instructor."
    ]


def test_the_named_instructor_must_exist_and_teach(frozen, admin_user, member):
    for instructor_id, message in [(member.pk, "mia is not an instructor."), (99999, None)]:
        response = create(
            admin_user,
            title="Kata",
            start_time=START,
            duration_minutes=60,
            instructor_id=instructor_id,
        )
        assert response.status_code == 400
        assert response.json()["instructor_id"] == [message or "instructor not found"]


def test_a_naive_start_time_is_refused_with_a_field_error(frozen, instructor):
    response = create(
        instructor, title="Kata", start_time="2026-06-02T18:00:00", duration_minutes=60
    )

    assert response.status_code == 400
    assert response.json()["start_time"] == [
        "Include a time zone offset (for example 2026-03-01T18:00:00Z or +01:00); "
        "a time without one is ambiguous."
    ]
    assert not TrainingSession.objects.exists()


def test_a_date_without_a_time_is_refused_as_naive(frozen, instructor):
    response = create(instructor, title="Kata", start_time="2026-06-02", duration_minutes=60)

    assert response.status_code == 400
    assert "time zone offset" in response.json()["start_time"][0]


def test_required_fields_are_named_when_missing(frozen, instructor):
    response = create(instructor)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid input.",
        "code": "invalid",
        "title": ["A title is required."],
        "start_time": ["A start time is required."],
        "duration_minutes": ["A duration is required."],
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "   ", "A title is required."),
        ("title", "x" * 201, "The title can be at most 200 characters (it has 201)."),
        (
            "description",
            "x" * 5001,
            "The description can be at most 5000 characters (it has 5001).",
        ),
        ("start_time", "2026-06-01T15:00:00Z", "The start time must be in the future."),
        ("duration_minutes", 14, "The duration in minutes must be between 15 and 480."),
        ("duration_minutes", 481, "The duration in minutes must be between 15 and 480."),
        ("capacity", 0, "The capacity must be between 1 and 1,000."),
        ("capacity", 1001, "The capacity must be between 1 and 1,000."),
        ("tags", ["x" * 41], "Each tag can be at most 40 characters."),
        ("tags", [f"t{i}" for i in range(21)], "At most 20 tags."),
        ("tags", [""], "Each tag must be a non-empty string."),
        ("event_id", "7d0e9b4c-0000-4000-8000-000000000000", "event not found"),
        ("event_id", "camp", "event not found"),
    ],
)
def test_the_services_rules_come_back_as_field_errors(frozen, instructor, field, value, message):
    data = {"title": "Kata", "start_time": START, "duration_minutes": 60, field: value}

    response = create(instructor, **data)

    assert response.status_code == 400
    assert response.json()[field] == [message]


def test_an_overlapping_session_is_a_409_naming_the_other(frozen, instructor, make_session):
    other = make_session(title="Morning kata", start_time=NOW + timedelta(hours=26))

    response = create(
        instructor, title="Kata", start_time="2026-06-02T18:30:00Z", duration_minutes=60
    )

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "overlap"
    assert "Morning kata" in body["detail"]
    assert body["conflicting_session_id"] == str(other.pk)
    assert body["conflicting_session_title"] == "Morning kata"


@pytest.mark.parametrize("format", ["multipart", None])
def test_a_form_post_works_like_json_and_missing_checkboxes_keep_their_defaults(
    frozen, instructor, format
):
    data = {"title": "Kata", "start_time": START, "duration_minutes": "60", "tags": ["kata", "bo"]}
    client = client_for(instructor)
    if format is None:  # application/x-www-form-urlencoded, as a plain HTML form sends
        response = client.post(
            SESSIONS,
            urlencode(data, doseq=True),
            content_type="application/x-www-form-urlencoded",
        )
    else:
        response = client.post(SESSIONS, data, format=format)

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["tags"] == ["kata", "bo"]
    assert (data["members_only"], data["chat_enabled"]) == (True, True)
