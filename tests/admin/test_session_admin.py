"""The session admin: who sees what, and every change going through the session services."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sessions_app.attendance_export import HEADER
from sessions_app.models import (
    EndReason,
    RoomStatus,
    SessionAttendance,
    SessionStatus,
    TrainingSession,
)
from tests.conftest import NOW, make_user
from wwmaa.models import Role

pytestmark = pytest.mark.usefixtures("frozen")

CHANGELIST = reverse("admin:sessions_app_trainingsession_changelist")
ADD = reverse("admin:sessions_app_trainingsession_add")

# The change form carries the (read-only) attendance and registration inlines; a browser
# always posts their management forms, so the tests do too.
INLINE_MANAGEMENT = {
    f"{prefix}-{name}": value
    for prefix in ("attendance", "registrations")
    for name, value in (
        ("TOTAL_FORMS", "0"),
        ("INITIAL_FORMS", "0"),
        ("MIN_NUM_FORMS", "0"),
        ("MAX_NUM_FORMS", "1000"),
    )
}


def change_url(session: TrainingSession) -> str:
    return reverse("admin:sessions_app_trainingsession_change", args=[session.pk])


def split_datetime(value, user) -> dict[str, str]:
    """The two inputs of the admin's date/time widget, in the user's own zone."""
    local = value.astimezone(user.zoneinfo)
    return {
        "start_time_0": local.strftime("%Y-%m-%d"),
        "start_time_1": local.strftime("%H:%M:%S"),
    }


def session_form(user, *, start=None, **fields) -> dict[str, str]:
    """What the add or change form posts; ``fields`` override the defaults."""
    data = {
        "title": "Kata fundamentals",
        "description": "",
        "duration_minutes": "60",
        "capacity": "",
        "event": "",
        "tags_text": "",
        "chat_enabled": "on",
        "members_only": "on",
        **split_datetime(start or NOW + timedelta(days=1), user),
        **INLINE_MANAGEMENT,
    }
    data.update(fields)
    return {name: value for name, value in data.items() if value is not None}


def change_form(session: TrainingSession, user, **fields) -> dict[str, str]:
    """The change form as rendered for ``session``, with ``fields`` changed."""
    as_rendered = {
        "title": session.title,
        "description": session.description,
        "duration_minutes": str(session.duration_minutes),
        "capacity": "" if session.capacity is None else str(session.capacity),
        "tags_text": ", ".join(session.tags),
    }
    return session_form(
        user, start=fields.pop("start", session.start_time), **{**as_rendered, **fields}
    )


def run_action(client, action: str, *sessions: TrainingSession):
    return client.post(
        CHANGELIST,
        {"action": action, "index": "0", "_selected_action": [str(s.pk) for s in sessions]},
    )


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def own_session(make_session):
    return make_session(title="Kata fundamentals", start_time=NOW + timedelta(hours=2))


@pytest.fixture
def others_session(make_session, other_instructor):
    return make_session(
        title="Sparring drills", instructor=other_instructor, start_time=NOW + timedelta(hours=5)
    )


# Who may enter, and what they see.


def test_an_instructor_sees_only_their_own_sessions_in_the_changelist(
    client, instructor, own_session, others_session
):
    client.force_login(instructor)

    response = client.get(CHANGELIST)

    assert response.status_code == 200
    assert [s.pk for s in response.context["cl"].result_list] == [own_session.pk]
    assert "Sparring drills" not in response.text


@pytest.mark.parametrize("role", ["board_member", "admin_user"])
def test_board_members_and_admins_see_every_session(
    request, client, role, own_session, others_session
):
    client.force_login(request.getfixturevalue(role))

    response = client.get(CHANGELIST)

    assert response.status_code == 200
    assert {s.pk for s in response.context["cl"].result_list} == {
        own_session.pk,
        others_session.pk,
    }


def test_the_changelist_query_count_does_not_grow_with_the_sessions(
    client, board_member, instructor, other_instructor, make_session
):
    make_session()
    client.force_login(board_member)
    with CaptureQueriesContext(connection) as one:
        client.get(CHANGELIST)
    for day in range(1, 6):
        make_session(
            instructor=other_instructor if day % 2 else instructor,
            start_time=NOW + timedelta(days=day),
        )

    with CaptureQueriesContext(connection) as six:
        response = client.get(CHANGELIST)

    assert len(response.context["cl"].result_list) == 6
    assert len(six) == len(one)


@pytest.mark.parametrize("role", ["member", "public_user"])
def test_members_and_public_users_cannot_enter_the_admin(request, client, role, own_session):
    client.force_login(request.getfixturevalue(role))

    for url in (reverse("admin:index"), CHANGELIST, change_url(own_session)):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))


def test_an_instructor_cannot_open_another_instructors_session(client, instructor, others_session):
    client.force_login(instructor)

    response = client.get(change_url(others_session))

    # The admin answers as for a session that does not exist: nothing about it leaks.
    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    assert "Sparring drills" not in client.get(response.url).text


def test_an_instructor_cannot_change_another_instructors_session_by_posting(
    client, instructor, others_session
):
    client.force_login(instructor)
    before = TrainingSession.objects.values().get(pk=others_session.pk)

    response = client.post(
        change_url(others_session), change_form(others_session, instructor, title="Hijacked")
    )

    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    assert TrainingSession.objects.values().get(pk=others_session.pk) == before


def test_sessions_cannot_be_deleted_from_the_admin(client, admin_user, own_session):
    client.force_login(admin_user)
    delete_url = reverse("admin:sessions_app_trainingsession_delete", args=[own_session.pk])

    assert client.get(delete_url).status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    actions = dict(client.get(CHANGELIST).context["action_form"].fields["action"].choices)
    assert "delete_selected" not in actions
    assert TrainingSession.objects.filter(pk=own_session.pk).exists()


# The add form.


def test_the_add_form_creates_a_session_through_the_services(client, instructor):
    client.force_login(instructor)
    start = NOW + timedelta(days=1)

    response = client.post(
        ADD,
        session_form(
            instructor,
            start=start,
            title="  Kata fundamentals  ",
            tags_text="Kata, beginners , ,KATA",
            capacity="12",
        ),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    session = TrainingSession.objects.get()
    assert session.title == "Kata fundamentals"
    assert session.tags == ["kata", "beginners"]
    assert session.instructor == instructor
    assert session.start_time == start
    assert session.end_time == start + timedelta(minutes=60)
    assert session.capacity == 12
    assert session.status == SessionStatus.SCHEDULED
    assert session.room_status == RoomStatus.PENDING


def test_the_instructor_field_is_absent_for_instructors(client, instructor):
    client.force_login(instructor)

    form = client.get(ADD).context["adminform"].form

    assert "instructor" not in form.fields


def test_the_instructor_field_offers_only_people_who_teach_to_board_members(
    client, board_member, instructor, member
):
    client.force_login(board_member)

    form = client.get(ADD).context["adminform"].form

    assert set(form.fields["instructor"].queryset) == {board_member, instructor}


def test_an_instructor_cannot_assign_another_instructor_by_posting_the_field(
    client, instructor, other_instructor
):
    client.force_login(instructor)

    response = client.post(ADD, session_form(instructor, instructor=str(other_instructor.pk)))

    assert response.status_code == 302
    assert TrainingSession.objects.get().instructor == instructor


def test_a_board_member_creates_a_session_for_an_instructor(client, board_member, instructor):
    client.force_login(board_member)

    response = client.post(ADD, session_form(board_member, instructor=str(instructor.pk)))

    assert response.status_code == 302
    assert TrainingSession.objects.get().instructor == instructor


def test_the_add_form_refuses_an_overlap_with_a_clear_error(client, instructor, own_session):
    client.force_login(instructor)

    response = client.post(
        ADD, session_form(instructor, start=own_session.start_time + timedelta(minutes=30))
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert len(errors) == 1
    assert "overlaps" in errors[0]
    assert "Kata fundamentals" in errors[0]
    assert TrainingSession.objects.count() == 1


def test_the_add_form_refuses_a_start_time_in_the_past(client, instructor):
    client.force_login(instructor)

    response = client.post(ADD, session_form(instructor, start=NOW - timedelta(hours=1)))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["start_time"] == [
        "The start time must be in the future."
    ]
    assert not TrainingSession.objects.exists()


@pytest.mark.parametrize("minutes", ["14", "481"])
def test_the_add_form_refuses_a_duration_out_of_range(client, instructor, minutes):
    client.force_login(instructor)

    response = client.post(ADD, session_form(instructor, duration_minutes=minutes))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["duration_minutes"] == [
        "The duration in minutes must be between 15 and 480."
    ]
    assert not TrainingSession.objects.exists()


# The change form.


def test_an_instructor_moves_their_own_scheduled_session(client, instructor, own_session):
    client.force_login(instructor)
    new_start = own_session.start_time + timedelta(days=1)

    response = client.post(
        change_url(own_session), change_form(own_session, instructor, start=new_start)
    )

    assert response.status_code == 302
    own_session.refresh_from_db()
    assert own_session.start_time == new_start
    assert own_session.end_time == new_start + timedelta(minutes=60)


def test_editing_a_live_sessions_start_time_is_refused_with_a_form_error(
    client, instructor, make_session
):
    live = make_session(
        start_time=NOW - timedelta(minutes=10), status=SessionStatus.LIVE, started_at=NOW
    )
    client.force_login(instructor)

    response = client.post(
        change_url(live), change_form(live, instructor, start=NOW + timedelta(hours=3))
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert errors == [
        "While a session is live only its title, description and chat can change (not: start_time)."
    ]
    live.refresh_from_db()
    assert live.start_time == NOW - timedelta(minutes=10)


def test_editing_a_live_sessions_title_is_saved(client, instructor, make_session):
    live = make_session(
        start_time=NOW - timedelta(minutes=10), status=SessionStatus.LIVE, started_at=NOW
    )
    client.force_login(instructor)

    response = client.post(change_url(live), change_form(live, instructor, title="Kata, part 2"))

    assert response.status_code == 302
    live.refresh_from_db()
    assert live.title == "Kata, part 2"
    assert live.status == SessionStatus.LIVE


def test_an_ended_session_is_shown_read_only(client, instructor, make_session):
    ended = make_session(
        start_time=NOW - timedelta(hours=3), status=SessionStatus.ENDED, ended_at=NOW
    )
    client.force_login(instructor)

    page = client.get(change_url(ended))
    response = client.post(change_url(ended), change_form(ended, instructor, title="Renamed"))

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert response.status_code == 403
    ended.refresh_from_db()
    assert ended.title == "Kata fundamentals"


# Lifecycle actions.


def test_the_cancel_action_cancels_through_the_services(client, instructor, own_session):
    client.force_login(instructor)

    response = run_action(client, "cancel_sessions", own_session)

    assert response.status_code == 302
    own_session.refresh_from_db()
    assert own_session.status == SessionStatus.CANCELED
    assert own_session.canceled_at == NOW
    assert ("success", "1 session(s) canceled.") in messages_of(response)


def test_the_start_action_outside_the_window_leaves_the_session_scheduled_with_a_warning(
    client, instructor, own_session
):
    client.force_login(instructor)

    response = run_action(client, "start_sessions", own_session)

    own_session.refresh_from_db()
    assert own_session.status == SessionStatus.SCHEDULED
    assert own_session.started_at is None
    assert messages_of(response) == [
        (
            "warning",
            "Kata fundamentals: The session can be started from 30 minutes before its start time.",
        )
    ]


def test_the_start_action_inside_the_window_starts_the_session_with_a_room(
    client, instructor, make_session
):
    soon = make_session(start_time=NOW + timedelta(minutes=20))
    client.force_login(instructor)

    run_action(client, "start_sessions", soon)

    soon.refresh_from_db()
    assert soon.status == SessionStatus.LIVE
    assert soon.started_at == NOW
    assert soon.room_status == RoomStatus.READY


def test_the_end_action_ends_a_live_session_and_closes_attendance(
    client, instructor, member, make_session
):
    live = make_session(
        start_time=NOW - timedelta(minutes=30),
        status=SessionStatus.LIVE,
        started_at=NOW - timedelta(minutes=30),
    )
    seat = SessionAttendance.objects.create(
        session=live,
        user=member,
        joined_at=NOW - timedelta(minutes=20),
        segment_started_at=NOW - timedelta(minutes=20),
    )
    client.force_login(instructor)

    run_action(client, "end_sessions", live)

    live.refresh_from_db()
    seat.refresh_from_db()
    assert live.status == SessionStatus.ENDED
    assert live.ended_at == NOW
    assert live.end_reason == EndReason.INSTRUCTOR
    assert seat.left_at == NOW
    assert seat.watch_time_seconds == 20 * 60


def test_an_admin_ends_another_instructors_session_as_an_override(client, admin_user, make_session):
    live = make_session(
        start_time=NOW - timedelta(minutes=30), status=SessionStatus.LIVE, started_at=NOW
    )
    client.force_login(admin_user)

    run_action(client, "end_sessions", live)

    live.refresh_from_db()
    assert live.status == SessionStatus.ENDED
    assert live.end_reason == EndReason.ADMIN


def test_the_create_room_action_readies_the_room_of_a_scheduled_session(
    client, instructor, own_session, make_session
):
    canceled = make_session(
        title="Canceled class", start_time=NOW + timedelta(days=2), status="canceled"
    )
    client.force_login(instructor)

    response = run_action(client, "create_rooms", own_session, canceled)

    own_session.refresh_from_db()
    canceled.refresh_from_db()
    assert own_session.room_status == RoomStatus.READY
    assert own_session.room_url.endswith(f"/sessions/{own_session.pk}/room/")
    assert canceled.room_status == RoomStatus.PENDING
    assert set(messages_of(response)) == {
        ("warning", "Canceled class: The session is over; it needs no room."),
        ("success", "1 session(s) have a ready room."),
    }


def test_an_instructor_cannot_act_on_another_instructors_session(
    client, instructor, others_session
):
    client.force_login(instructor)

    response = run_action(client, "cancel_sessions", others_session)

    # Not in the instructor's queryset, so the action never sees it.
    assert response.status_code == 302
    others_session.refresh_from_db()
    assert others_session.status == SessionStatus.SCHEDULED
    assert others_session.canceled_at is None
    assert messages_of(response) == []


# Attendance export.


def export(client, *sessions) -> tuple[object, list[list[str]]]:
    response = run_action(client, "export_attendance", *sessions)
    body = b"".join(response.streaming_content).decode()
    return response, list(csv.reader(io.StringIO(body)))


def test_the_attendance_export_has_a_header_and_one_row_per_attendee(
    client, instructor, member, other_member, own_session
):
    for user, minutes in ((member, 50), (other_member, 40)):
        SessionAttendance.objects.create(
            session=own_session,
            user=user,
            joined_at=NOW - timedelta(minutes=minutes),
            left_at=NOW,
            watch_time_seconds=minutes * 60,
        )
    client.force_login(instructor)

    response, rows = export(client, own_session)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="attendance.csv"'
    assert rows[0] == HEADER
    assert [(row[0], row[3], row[6]) for row in rows[1:]] == [
        ("Kata fundamentals", "mia", "50.0"),
        ("Kata fundamentals", "max", "40.0"),
    ]


def test_the_attendance_export_neutralises_spreadsheet_formulas_in_names(
    client, instructor, own_session
):
    attacker = make_user("eve", Role.MEMBER, first_name='=HYPERLINK("http://evil")')
    SessionAttendance.objects.create(session=own_session, user=attacker, joined_at=NOW)
    client.force_login(instructor)

    _, rows = export(client, own_session)

    assert rows[1][2] == '\'=HYPERLINK("http://evil")'


def test_an_instructor_exports_only_their_own_sessions_attendance(
    client, instructor, member, own_session, others_session
):
    SessionAttendance.objects.create(session=own_session, user=member, joined_at=NOW)
    SessionAttendance.objects.create(session=others_session, user=member, joined_at=NOW)
    client.force_login(instructor)

    _, rows = export(client, own_session, others_session)

    assert [row[0] for row in rows[1:]] == ["Kata fundamentals"]
