"""``PUT``/``PATCH /api/training/sessions/{id}``: changes under the lifecycle rules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessions_app.models import SessionAttendance, SessionStatus
from tests.api.conftest import client_for, url
from tests.conftest import NOW


@pytest.fixture
def session(make_session):
    return make_session(title="Kata", start_time=NOW + timedelta(days=1), capacity=10)


def patch(user, session, **data):
    return client_for(user).patch(url(session), data, format="json")


def test_the_owner_renames_a_session(frozen, instructor, session):
    response = patch(instructor, session, title="Kata II", tags=["Kata"])

    assert response.status_code == 200
    assert (response.json()["title"], response.json()["tags"]) == ("Kata II", ["kata"])
    session.refresh_from_db()
    assert session.title == "Kata II"


def test_fields_left_out_do_not_change(frozen, instructor, session):
    patch(instructor, session, description="New")

    session.refresh_from_db()
    assert (session.title, session.capacity, session.description) == ("Kata", 10, "New")


def test_put_changes_the_fields_sent_and_accepts_the_unchanged_ones(frozen, instructor, session):
    response = client_for(instructor).put(
        url(session),
        {"title": "Kata", "start_time": "2026-06-02T16:00:00Z", "duration_minutes": 90},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["end_time"] == "2026-06-02T17:30:00Z"


def test_moving_a_session_moves_its_end_and_bumps_its_calendar_sequence(
    frozen, board_member, session
):
    response = patch(board_member, session, start_time="2026-06-03T10:00:00+02:00")

    assert response.json()["start_time"] == "2026-06-03T08:00:00Z"
    assert response.json()["end_time"] == "2026-06-03T09:00:00Z"
    session.refresh_from_db()
    assert session.schedule_version == 1


def test_a_rename_leaves_the_calendar_sequence_alone(frozen, instructor, session):
    patch(instructor, session, title="Kata II")

    session.refresh_from_db()
    assert session.schedule_version == 0


def test_an_admin_hands_a_session_to_another_instructor(
    frozen, admin_user, session, other_instructor
):
    response = patch(admin_user, session, instructor_id=other_instructor.pk)

    assert response.json()["instructor"]["id"] == other_instructor.pk


def test_a_naive_new_start_time_is_refused(frozen, instructor, session):
    response = patch(instructor, session, start_time="2026-06-03T10:00:00")

    assert response.status_code == 400
    assert "time zone offset" in response.json()["start_time"][0]


def test_moving_into_another_session_of_the_instructor_is_a_409(
    frozen, instructor, session, make_session
):
    make_session(title="Sparring", start_time=NOW + timedelta(days=1, hours=1))

    response = patch(instructor, session, start_time="2026-06-02T16:30:00Z")

    assert response.status_code == 409
    assert response.json()["code"] == "overlap"


def test_while_live_only_title_description_and_chat_may_change(frozen, instructor, make_session):
    live = make_session(
        status=SessionStatus.LIVE, start_time=NOW - timedelta(minutes=10), started_at=NOW
    )

    renamed = patch(instructor, live, title="Live kata", chat_enabled=False)
    moved = patch(instructor, live, duration_minutes=90, capacity=5)

    assert renamed.status_code == 200
    assert moved.status_code == 409
    assert moved.json()["code"] == "session_live"
    assert moved.json()["fields"] == ["capacity", "duration_minutes"]


@pytest.mark.parametrize(
    ("status", "code"),
    [(SessionStatus.ENDED, "session_ended"), (SessionStatus.CANCELED, "session_canceled")],
)
def test_an_ended_or_canceled_session_cannot_change(frozen, instructor, make_session, status, code):
    session = make_session(status=status)

    response = patch(instructor, session, title="Too late")

    assert response.status_code == 409
    assert response.json()["code"] == code


def test_capacity_cannot_drop_below_the_seats_taken(frozen, instructor, session, member):
    SessionAttendance.objects.create(session=session, user=member, joined_at=NOW)
    session.capacity = 1
    session.save()

    response = patch(instructor, session, capacity=0)

    assert response.status_code == 400
    assert "capacity" in response.json()


def test_an_empty_patch_changes_nothing_and_answers_the_session(frozen, instructor, session):
    response = patch(instructor, session)

    assert response.status_code == 200
    assert response.json()["title"] == "Kata"
