"""cancel_session: who may cancel, from which state, and what follows the cancel."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessions_app import services
from sessions_app.models import RoomStatus, SessionRegistration, SessionStatus, TrainingSession
from sessions_app.rooms import RoomProviderUnavailable
from sessions_app.rooms.local import LocalRoomProvider
from tests.conftest import NOW

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def session(make_session):
    return make_session()


@pytest.fixture
def session_with_room(make_session):
    return make_session(
        room_id="local-room-1",
        room_url="http://testserver/sessions/x/room/",
        room_status=RoomStatus.READY,
    )


# Who may


@pytest.mark.parametrize("actor_fixture", ["instructor", "board_member", "admin_user"])
def test_the_owner_a_board_member_or_an_admin_may_cancel(request, actor_fixture, session):
    actor = request.getfixturevalue(actor_fixture)

    canceled = services.cancel_session(actor, session.pk)

    assert canceled.status == SessionStatus.CANCELED
    session.refresh_from_db()
    assert session.status == SessionStatus.CANCELED


@pytest.mark.parametrize("actor_fixture", ["other_instructor", "member", "public_user"])
def test_nobody_else_may_cancel(request, actor_fixture, session):
    actor = request.getfixturevalue(actor_fixture)

    with pytest.raises(services.NotAllowed):
        services.cancel_session(actor, session.pk)

    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED
    assert session.canceled_at is None


def test_an_anonymous_visitor_must_log_in(anonymous, session):
    with pytest.raises(services.LoginRequired):
        services.cancel_session(anonymous, session.pk)

    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED


# The canceled session


def test_canceling_records_when_and_keeps_the_row(instructor, session):
    services.cancel_session(instructor, session.pk)

    kept = TrainingSession.objects.get(pk=session.pk)
    assert kept.status == SessionStatus.CANCELED
    assert kept.canceled_at == NOW
    assert kept.end_reason is None
    assert kept.ended_at is None
    assert kept.title == "Kata fundamentals"


def test_it_records_the_now_it_is_given(instructor, session):
    at = NOW + timedelta(minutes=7)

    canceled = services.cancel_session(instructor, session.pk, now=at)

    assert canceled.canceled_at == at


def test_a_session_whose_start_has_passed_unstarted_may_still_be_canceled(instructor, make_session):
    late = make_session(start_time=NOW - timedelta(minutes=20))

    assert services.cancel_session(instructor, late.pk).status == SessionStatus.CANCELED


# Only from scheduled


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (SessionStatus.LIVE, "already_live"),
        (SessionStatus.ENDED, "session_ended"),
        (SessionStatus.CANCELED, "session_canceled"),
    ],
)
def test_only_a_scheduled_session_may_be_canceled(make_session, instructor, status, code):
    other = make_session(status=status)

    with pytest.raises(services.Conflict) as excinfo:
        services.cancel_session(instructor, other.pk)

    assert excinfo.value.code == code
    other.refresh_from_db()
    assert other.status == status
    assert other.canceled_at is None


def test_canceling_twice_is_a_conflict_that_keeps_the_first_cancel(frozen, instructor, session):
    services.cancel_session(instructor, session.pk)
    frozen.move_to(NOW + timedelta(minutes=1))

    with pytest.raises(services.Conflict) as excinfo:
        services.cancel_session(instructor, session.pk)

    assert excinfo.value.code == "session_canceled"
    session.refresh_from_db()
    assert session.canceled_at == NOW


# The room


def test_the_room_is_retired_after_the_cancel_commits(
    instructor, session_with_room, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.cancel_session(instructor, session_with_room.pk)

    session_with_room.refresh_from_db()
    assert session_with_room.room_status == RoomStatus.READY

    for callback in callbacks:
        callback()

    session_with_room.refresh_from_db()
    assert session_with_room.room_status == RoomStatus.DELETED


def test_the_provider_is_asked_to_retire_the_room(
    instructor, session_with_room, django_capture_on_commit_callbacks, monkeypatch
):
    retired = []
    monkeypatch.setattr(
        LocalRoomProvider, "retire_room", lambda self, room_id: retired.append(room_id)
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_session(instructor, session_with_room.pk)

    assert retired == ["local-room-1"]


def test_a_pending_room_is_left_alone(instructor, session, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_session(instructor, session.pk)

    session.refresh_from_db()
    assert session.room_status == RoomStatus.PENDING


def test_a_provider_failure_never_blocks_the_cancel(
    instructor, session_with_room, django_capture_on_commit_callbacks, monkeypatch
):
    def fail(self, room_id):
        raise RoomProviderUnavailable("provider down")

    monkeypatch.setattr(LocalRoomProvider, "retire_room", fail)

    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_session(instructor, session_with_room.pk)

    session_with_room.refresh_from_db()
    assert session_with_room.status == SessionStatus.CANCELED
    # Still ready, so the cleanup job finds it and tries again.
    assert session_with_room.room_status == RoomStatus.READY


# Telling registered members


def test_registered_members_are_emailed_after_the_cancel_commits(
    instructor, session, member, other_member, mailoutbox, django_capture_on_commit_callbacks
):
    SessionRegistration.objects.create(session=session, user=member)
    SessionRegistration.objects.create(session=session, user=other_member)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.cancel_session(instructor, session.pk)
    assert mailoutbox == []

    for callback in callbacks:
        callback()

    assert sorted(message.to[0] for message in mailoutbox) == [
        "max@example.com",
        "mia@example.com",
    ]
    to_mia = next(message for message in mailoutbox if message.to == ["mia@example.com"])
    assert to_mia.subject == "Canceled: Kata fundamentals"
    assert "Kenji Sato" in to_mia.body
    # 18:00 UTC is 20:00 in Berlin, mia's zone.
    assert "Monday 1 June 2026, 20:00 (Europe/Berlin)" in to_mia.body
    assert "has been canceled" in to_mia.body


def test_nobody_is_emailed_when_nobody_registered(
    instructor, session, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_session(instructor, session.pk)

    assert mailoutbox == []


def test_a_refused_second_cancel_emails_nobody_again(
    instructor, session, member, mailoutbox, django_capture_on_commit_callbacks
):
    SessionRegistration.objects.create(session=session, user=member)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_session(instructor, session.pk)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(services.Conflict):
        services.cancel_session(instructor, session.pk)

    assert len(mailoutbox) == 1
