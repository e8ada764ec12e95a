"""update_session: who may change a session, and the lifecycle rules on what may change."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from sessions_app import services
from sessions_app.models import (
    SessionAttendance,
    SessionRegistration,
    SessionStatus,
    TrainingSession,
)
from tests.conftest import NOW, make_user
from wwmaa.models import Role

pytestmark = pytest.mark.usefixtures("frozen")

START = NOW + timedelta(hours=2)  # make_session's default: 18:00–19:00 UTC


@pytest.fixture
def session(make_session):
    return make_session(capacity=10, tags=["kata"])


def full_body(session: TrainingSession, **changes) -> dict:
    """What a PUT sends: every field, unchanged unless overridden."""
    body = {
        "event_id": session.event_id,
        "title": session.title,
        "description": session.description,
        "start_time": session.start_time,
        "duration_minutes": session.duration_minutes,
        "capacity": session.capacity,
        "recording_enabled": session.recording_enabled,
        "chat_enabled": session.chat_enabled,
        "is_public": session.is_public,
        "members_only": session.members_only,
        "tags": session.tags,
    }
    body.update(changes)
    return body


def hold_seats(session: TrainingSession, count: int) -> None:
    for i in range(count):
        user = make_user(f"seat{i}", Role.MEMBER)
        SessionAttendance.objects.create(session=session, user=user, joined_at=NOW)


# Who may


@pytest.mark.parametrize("actor_fixture", ["instructor", "board_member", "admin_user"])
def test_the_owner_a_board_member_or_an_admin_may_change_a_session(request, actor_fixture, session):
    actor = request.getfixturevalue(actor_fixture)

    updated = services.update_session(actor, session.pk, {"title": "  Kata, part two "})

    assert updated.title == "Kata, part two"
    session.refresh_from_db()
    assert session.title == "Kata, part two"


@pytest.mark.parametrize("actor_fixture", ["other_instructor", "member", "public_user"])
def test_nobody_else_may_change_a_session(request, actor_fixture, session):
    actor = request.getfixturevalue(actor_fixture)

    with pytest.raises(services.NotAllowed):
        services.update_session(actor, session.pk, {"title": "Hijacked"})

    session.refresh_from_db()
    assert session.title == "Kata fundamentals"


def test_an_anonymous_visitor_must_log_in(anonymous, session):
    with pytest.raises(services.LoginRequired):
        services.update_session(anonymous, session.pk, {"title": "Hijacked"})


# Lifecycle


@pytest.mark.parametrize(
    ("status", "code"),
    [(SessionStatus.ENDED, "session_ended"), (SessionStatus.CANCELED, "session_canceled")],
)
def test_it_refuses_to_change_an_ended_or_canceled_session(make_session, instructor, status, code):
    finished = make_session(status=status)

    with pytest.raises(services.Conflict) as excinfo:
        services.update_session(instructor, finished.pk, {"title": "Too late"})

    assert excinfo.value.code == code
    finished.refresh_from_db()
    assert finished.title == "Kata fundamentals"


@pytest.fixture
def live_session(make_session):
    """Started ten minutes ago, at 16:00–17:00 UTC."""
    return make_session(
        start_time=NOW - timedelta(minutes=10),
        status=SessionStatus.LIVE,
        started_at=NOW - timedelta(minutes=12),
        capacity=10,
        tags=["kata"],
    )


def test_while_live_the_title_description_and_chat_may_change(instructor, live_session):
    updated = services.update_session(
        instructor,
        live_session.pk,
        {"title": "Kata (live)", "description": "Now with bunkai.", "chat_enabled": False},
    )

    updated.refresh_from_db()
    assert (updated.title, updated.description, updated.chat_enabled) == (
        "Kata (live)",
        "Now with bunkai.",
        False,
    )
    assert updated.status == SessionStatus.LIVE


@pytest.mark.parametrize(
    "change",
    [
        {"duration_minutes": 90},
        {"capacity": 20},
        {"is_public": True},
        {"members_only": False},
        {"recording_enabled": True},
        {"tags": ["sparring"]},
        {"start_time": NOW + timedelta(hours=5)},
    ],
)
def test_while_live_nothing_else_may_change(instructor, live_session, change):
    with pytest.raises(services.Conflict) as excinfo:
        services.update_session(instructor, live_session.pk, {"title": "Renamed", **change})

    assert excinfo.value.code == "session_live"
    assert excinfo.value.extra["fields"] == [next(iter(change))]
    live_session.refresh_from_db()
    assert live_session.title == "Kata fundamentals"


def test_a_put_repeating_the_unchanged_values_of_a_live_session_is_accepted(
    instructor, live_session
):
    # The start time is in the past by now, and every locked field is sent unchanged.
    # The start time as a Berlin client sends it back: the same instant, another offset.
    berlin_start = live_session.start_time.astimezone(ZoneInfo("Europe/Berlin"))
    body = full_body(live_session, title="Kata (live)", tags=["KATA "], start_time=berlin_start)

    updated = services.update_session(instructor, live_session.pk, body)

    updated.refresh_from_db()
    assert updated.title == "Kata (live)"
    assert updated.start_time == NOW - timedelta(minutes=10)


def test_an_unchanged_start_in_the_past_is_accepted_on_a_session_not_yet_started(
    instructor, make_session
):
    late = make_session(start_time=NOW - timedelta(minutes=5))

    updated = services.update_session(
        instructor, late.pk, {"start_time": late.start_time, "duration_minutes": 90}
    )

    assert updated.end_time == late.start_time + timedelta(minutes=90)


# The rules of creation apply


def test_it_refuses_to_move_a_session_into_the_past(instructor, session):
    with pytest.raises(ValidationError) as excinfo:
        services.update_session(instructor, session.pk, {"start_time": NOW - timedelta(minutes=1)})

    assert excinfo.value.message_dict == {"start_time": ["The start time must be in the future."]}
    session.refresh_from_db()
    assert session.start_time == START


def test_it_refuses_a_naive_new_start_time(instructor, session):
    with pytest.raises(ValidationError) as excinfo:
        services.update_session(
            instructor, session.pk, {"start_time": (START + timedelta(days=1)).replace(tzinfo=None)}
        )

    assert excinfo.value.error_dict["start_time"][0].code == "naive_datetime"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "  "}, "title"),
        ({"duration_minutes": 481}, "duration_minutes"),
        ({"capacity": 0}, "capacity"),
        ({"tags": "kata"}, "tags"),
        ({"event_id": "nope"}, "event_id"),
        ({"chat_enabled": None}, "chat_enabled"),
        ({"instructor_id": None}, "instructor_id"),
        ({"room_id": "x"}, "room_id"),
    ],
)
def test_every_field_rule_of_creation_applies(instructor, session, change, field):
    with pytest.raises(ValidationError) as excinfo:
        services.update_session(instructor, session.pk, change)

    assert list(excinfo.value.message_dict) == [field]


def test_moving_a_session_moves_its_end_time(instructor, session):
    new_start = START + timedelta(days=1)

    updated = services.update_session(
        instructor, session.pk, {"start_time": new_start, "duration_minutes": 90}
    )

    updated.refresh_from_db()
    assert updated.start_time == new_start
    assert updated.end_time == new_start + timedelta(minutes=90)


def test_a_board_member_may_hand_the_session_to_another_instructor(
    board_member, other_instructor, session
):
    services.update_session(board_member, session.pk, {"instructor_id": other_instructor.pk})

    session.refresh_from_db()
    assert session.instructor == other_instructor


def test_the_owner_may_not_hand_the_session_to_another_instructor(
    instructor, other_instructor, session
):
    with pytest.raises(ValidationError) as excinfo:
        services.update_session(instructor, session.pk, {"instructor_id": other_instructor.pk})

    assert excinfo.value.message_dict == {
        "instructor_id": ["Only board members and admins may choose another instructor."]
    }


# Overlap


def test_it_refuses_to_move_a_session_onto_another(instructor, session, make_session):
    other = make_session(title="Bo staff basics", start_time=START + timedelta(hours=3))

    with pytest.raises(services.Conflict) as excinfo:
        services.update_session(
            instructor, session.pk, {"start_time": START + timedelta(hours=3, minutes=30)}
        )

    assert excinfo.value.code == "overlap"
    assert "Bo staff basics" in excinfo.value.message
    assert excinfo.value.extra["conflicting_session_id"] == str(other.pk)
    session.refresh_from_db()
    assert session.start_time == START


def test_it_refuses_to_lengthen_a_session_into_the_next(instructor, session, make_session):
    make_session(title="Next", start_time=START + timedelta(hours=1))

    with pytest.raises(services.Conflict) as excinfo:
        services.update_session(instructor, session.pk, {"duration_minutes": 75})

    assert excinfo.value.code == "overlap"


def test_a_session_does_not_overlap_itself(instructor, session):
    updated = services.update_session(
        instructor, session.pk, {"start_time": START + timedelta(minutes=15)}
    )

    assert updated.start_time == START + timedelta(minutes=15)


def test_it_refuses_to_hand_a_session_to_an_instructor_who_is_busy_then(
    board_member, other_instructor, session, make_session
):
    make_session(instructor=other_instructor, title="Maria's class")

    with pytest.raises(services.Conflict) as excinfo:
        services.update_session(board_member, session.pk, {"instructor_id": other_instructor.pk})

    assert excinfo.value.code == "overlap"
    assert "Maria's class" in excinfo.value.message


def test_a_canceled_session_does_not_block_a_move(instructor, session, make_session):
    make_session(start_time=START + timedelta(days=1), status=SessionStatus.CANCELED)

    updated = services.update_session(
        instructor, session.pk, {"start_time": START + timedelta(days=1)}
    )

    assert updated.start_time == START + timedelta(days=1)


# Capacity


def test_the_capacity_cannot_go_below_the_seats_held(instructor, session):
    hold_seats(session, 3)

    with pytest.raises(ValidationError) as excinfo:
        services.update_session(instructor, session.pk, {"capacity": 2})

    assert excinfo.value.message_dict == {
        "capacity": ["3 people already hold a seat; the capacity cannot be lower."]
    }
    session.refresh_from_db()
    assert session.capacity == 10


def test_the_capacity_may_go_down_to_the_seats_held(instructor, session):
    hold_seats(session, 3)
    # The instructor's own row never takes a seat.
    SessionAttendance.objects.create(session=session, user=instructor, joined_at=NOW)

    services.update_session(instructor, session.pk, {"capacity": 3})

    session.refresh_from_db()
    assert session.capacity == 3


def test_the_capacity_may_become_unlimited(instructor, session):
    hold_seats(session, 3)

    services.update_session(instructor, session.pk, {"capacity": None})

    session.refresh_from_db()
    assert session.capacity is None


# Telling registered members


@pytest.fixture
def registered(session, member, other_member):
    SessionRegistration.objects.create(session=session, user=member)
    SessionRegistration.objects.create(session=session, user=other_member)
    return [member, other_member]


def test_moving_a_session_emails_its_registered_members_after_commit(
    instructor, session, registered, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.update_session(
            instructor, session.pk, {"start_time": START + timedelta(days=1, hours=1)}
        )

    assert sorted(message.to[0] for message in mailoutbox) == [
        "max@example.com",
        "mia@example.com",
    ]
    to_mia = next(message for message in mailoutbox if message.to == ["mia@example.com"])
    assert to_mia.subject == "New time: Kata fundamentals"
    # 18:00 UTC on 1 June is 20:00 in Berlin; the new time is 21:00 on 2 June.
    assert "Monday 1 June 2026, 20:00 (Europe/Berlin)" in to_mia.body
    assert "Tuesday 2 June 2026, 21:00 (Europe/Berlin)" in to_mia.body
    assert f"/sessions/{session.pk}/" in to_mia.body


def test_no_email_goes_out_before_the_change_commits(
    instructor, session, registered, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.update_session(instructor, session.pk, {"start_time": START + timedelta(days=1)})

    assert mailoutbox == []
    assert len(callbacks) == 1


def test_a_change_that_does_not_move_the_session_emails_nobody(
    instructor, session, registered, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.update_session(
            instructor, session.pk, full_body(session, title="Renamed", duration_minutes=90)
        )

    assert mailoutbox == []


def test_a_refused_move_emails_nobody(
    instructor, session, registered, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        services.update_session(instructor, session.pk, {"start_time": NOW - timedelta(hours=1)})

    assert mailoutbox == []


def test_a_put_of_unchanged_values_writes_nothing(frozen, instructor, session):
    frozen.move_to(NOW + timedelta(minutes=5))

    services.update_session(instructor, session.pk, full_body(session))

    session.refresh_from_db()
    assert session.updated_at == NOW
