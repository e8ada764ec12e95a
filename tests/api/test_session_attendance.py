"""``GET /api/training/sessions/{id}/attendance``: JSON pages, or a streamed CSV file."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.http import StreamingHttpResponse

from sessions_app.models import SessionAttendance
from tests.api.conftest import client_for, url
from tests.conftest import NOW, make_user
from wwmaa.models import Role


@pytest.fixture
def session(soon, member, other_member):
    session = soon(title="Kata")
    SessionAttendance.objects.create(
        session=session,
        user=member,
        joined_at=NOW - timedelta(minutes=30),
        left_at=NOW - timedelta(minutes=10),
        watch_time_seconds=1200,
    )
    SessionAttendance.objects.create(
        session=session,
        user=other_member,
        joined_at=NOW - timedelta(minutes=20),
        segment_started_at=NOW - timedelta(minutes=6),
        watch_time_seconds=300,
    )
    return session


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_owner_sees_every_attendee_with_watch_time(frozen, instructor, session):
    response = client_for(instructor).get(url(session, "/attendance"))

    assert response.status_code == 200
    page = response.json()
    assert page["count"] == 2
    first, second = page["results"]
    assert first["user"]["name"] == "mia"
    assert (first["joined_at"], first["left_at"]) == (
        "2026-06-01T15:30:00Z",
        "2026-06-01T15:50:00Z",
    )
    assert (first["present"], first["watch_time_seconds"], first["watch_minutes"]) == (
        False,
        1200,
        20.0,
    )
    # Still in the room: the open segment counts up to now.
    assert (second["present"], second["watch_time_seconds"]) == (True, 300 + 360)


def test_csv_is_a_streamed_text_csv_download_with_a_header_and_a_row_each(
    frozen, instructor, session
):
    response = client_for(instructor).get(url(session, "/attendance"), {"format": "csv"})

    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="attendance-{session.pk}.csv"'
    header, *rows = read_csv(response)
    assert header == [
        "session",
        "session_start",
        "name",
        "username",
        "joined_at",
        "left_at",
        "watch_minutes",
    ]
    # Times in the caller's zone (the instructor's: the site's, Los Angeles).
    assert rows == [
        ["Kata", "2026-06-01T09:05:00-07:00", "mia", "mia",
         "2026-06-01T08:30:00-07:00", "2026-06-01T08:50:00-07:00", "20.0"],
        ["Kata", "2026-06-01T09:05:00-07:00", "max", "max",
         "2026-06-01T08:40:00-07:00", "", "11.0"],
    ]  # fmt: skip


def test_accept_text_csv_also_downloads_the_file(frozen, board_member, session):
    response = client_for(board_member).get(url(session, "/attendance"), HTTP_ACCEPT="text/csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert len(read_csv(response)) == 3


def test_a_refusal_asked_as_csv_is_still_json(frozen, member, session):
    response = client_for(member).get(url(session, "/attendance"), {"format": "csv"})

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "forbidden"


def test_an_unknown_format_is_not_found(frozen, instructor, session):
    response = client_for(instructor).get(url(session, "/attendance"), {"format": "xlsx"})

    assert response.status_code == 404


@pytest.mark.parametrize("attendees", [1, 50])
def test_a_page_or_the_file_costs_the_same_queries_whatever_the_class_size(
    frozen, instructor, soon, django_assert_max_num_queries, attendees
):
    session = soon()
    for i in range(attendees):
        user = make_user(f"attendee{i}", Role.MEMBER)
        SessionAttendance.objects.create(session=session, user=user, joined_at=NOW)
    client = client_for(instructor)

    # The user (JWT), the session, the count, the page.
    with django_assert_max_num_queries(4):
        page = client.get(url(session, "/attendance"), {"limit": 100})
    # The user (JWT), the session, the rows.
    with django_assert_max_num_queries(3):
        rows = read_csv(client.get(url(session, "/attendance"), {"format": "csv"}))

    assert page.json()["count"] == attendees
    assert len(rows) == attendees + 1
