"""start_session: who may start a session, from which state, and in which window."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessions_app import services
from sessions_app.models import RoomStatus, SessionStatus, TrainingSession
from sessions_app.rooms import RoomProviderUnavailable
from sessions_app.rooms.local import LocalRoomProvider
from tests.conftest import NOW

START = NOW + timedelta(minutes=30)  # the host window opens right now
END = START + timedelta(minutes=60)


@pytest.fixture
def session(make_session):
    return make_session(start_time=START)


# Who may


@pytest.mark.parametrize("actor_fixture", ["instructor", "admin_user"])
def test_the_owner_or_an_admin_may_start(request, actor_fixture, session):
    actor = request.getfixturevalue(actor_fixture)

    started = services.start_session(actor, session.pk, now=NOW)

    assert started.status == SessionStatus.LIVE


@pytest.mark.parametrize(
    "actor_fixture", ["board_member", "other_instructor", "member", "public_user"]
)
def test_nobody_else_may_start_not_even_a_board_member(request, actor_fixture, session):
    actor = request.getfixturevalue(actor_fixture)

    with pytest.raises(services.NotAllowed):
        services.start_session(actor, session.pk, now=NOW)

    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED
    assert session.room_status == RoomStatus.PENDING


def test_an_anonymous_visitor_must_log_in(anonymous, session):
    with pytest.raises(services.LoginRequired):
        services.start_session(anonymous, session.pk, now=NOW)


# What starting does


def test_starting_records_when_and_goes_live(frozen, instructor, session):
    services.start_session(instructor, session.pk)

    session.refresh_from_db()
    assert session.status == SessionStatus.LIVE
    assert session.started_at == NOW
    assert session.ended_at is None


def test_starting_creates_the_pending_room(instructor, session):
    started = services.start_session(instructor, session.pk, now=NOW)

    started.refresh_from_db()
    assert started.room_status == RoomStatus.READY
    assert started.room_id == f"local-{session.pk}"
    assert started.room_url == f"http://testserver/sessions/{session.pk}/room/"


def test_starting_keeps_a_room_that_is_ready(instructor, make_session):
    ready = make_session(
        start_time=START,
        room_id="existing-room",
        room_url="http://testserver/existing/",
        room_status=RoomStatus.READY,
    )

    started = services.start_session(instructor, ready.pk, now=NOW)

    assert (started.room_id, started.room_status) == ("existing-room", RoomStatus.READY)


def test_a_failed_room_is_created_again(instructor, make_session):
    failed = make_session(start_time=START, room_status=RoomStatus.FAILED)

    started = services.start_session(instructor, failed.pk, now=NOW)

    assert started.room_status == RoomStatus.READY
    assert started.status == SessionStatus.LIVE


def test_it_does_not_go_live_when_the_room_cannot_be_created(instructor, session, monkeypatch):
    def fail(self, session):
        raise RoomProviderUnavailable("provider down")

    monkeypatch.setattr(LocalRoomProvider, "create_room", fail)

    with pytest.raises(services.RoomNotReady) as excinfo:
        services.start_session(instructor, session.pk, now=NOW)

    assert excinfo.value.code == "room_not_ready"
    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED
    assert session.started_at is None
    assert session.room_status == RoomStatus.PENDING


# The window: from 30 minutes before the start until the end


def test_it_may_start_exactly_30_minutes_before_the_start(instructor, session):
    started = services.start_session(instructor, session.pk, now=START - timedelta(minutes=30))

    assert started.started_at == START - timedelta(minutes=30)


def test_one_second_earlier_is_too_early(instructor, session):
    with pytest.raises(services.Conflict) as excinfo:
        services.start_session(instructor, session.pk, now=START - timedelta(minutes=30, seconds=1))

    assert excinfo.value.code == "too_early"
    assert excinfo.value.extra["opens_at"] == (START - timedelta(minutes=30)).isoformat()
    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED
    assert session.room_status == RoomStatus.PENDING


def test_it_may_start_late_until_the_last_second(instructor, session):
    started = services.start_session(instructor, session.pk, now=END - timedelta(seconds=1))

    assert started.status == SessionStatus.LIVE


def test_at_the_end_time_it_is_too_late(instructor, session):
    with pytest.raises(services.Conflict) as excinfo:
        services.start_session(instructor, session.pk, now=END)

    assert excinfo.value.code == "too_late"
    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED


def test_the_window_follows_the_frozen_clock(frozen, instructor, session):
    frozen.move_to(START - timedelta(minutes=31))
    with pytest.raises(services.Conflict) as excinfo:
        services.start_session(instructor, session.pk)
    assert excinfo.value.code == "too_early"

    frozen.move_to(START - timedelta(minutes=29))
    started = services.start_session(instructor, session.pk)

    assert started.started_at == START - timedelta(minutes=29)


# Only from scheduled


def test_starting_twice_is_a_conflict(instructor, session):
    services.start_session(instructor, session.pk, now=NOW)

    with pytest.raises(services.Conflict) as excinfo:
        services.start_session(instructor, session.pk, now=NOW + timedelta(minutes=1))

    assert excinfo.value.code == "already_live"
    session.refresh_from_db()
    assert session.started_at == NOW


@pytest.mark.parametrize(
    ("status", "code"),
    [(SessionStatus.ENDED, "session_ended"), (SessionStatus.CANCELED, "session_canceled")],
)
def test_an_ended_or_canceled_session_cannot_start(make_session, instructor, status, code):
    finished = make_session(start_time=START, status=status)

    with pytest.raises(services.Conflict) as excinfo:
        services.start_session(instructor, finished.pk, now=NOW)

    assert excinfo.value.code == code
    finished.refresh_from_db()
    assert finished.status == status
    assert finished.started_at is None


# Changes that land while the room is being created (a provider call, outside any lock)


def change_while_creating_the_room(monkeypatch, **fields) -> None:
    """Make the provider's create_room commit ``fields`` on the session, as a racing request."""
    create_room = LocalRoomProvider.create_room

    def racing(self, session):
        TrainingSession.objects.filter(pk=session.pk).update(**fields)
        return create_room(self, session)

    monkeypatch.setattr(LocalRoomProvider, "create_room", racing)


def test_a_session_moved_meanwhile_does_not_go_live_outside_its_new_window(
    instructor, session, monkeypatch
):
    change_while_creating_the_room(
        monkeypatch, start_time=START + timedelta(days=1), end_time=END + timedelta(days=1)
    )

    with pytest.raises(services.Conflict) as excinfo:
        services.start_session(instructor, session.pk, now=NOW)

    assert excinfo.value.code == "too_early"
    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED
    assert session.started_at is None


def test_a_session_canceled_meanwhile_does_not_go_live(instructor, session, monkeypatch):
    change_while_creating_the_room(monkeypatch, status=SessionStatus.CANCELED, canceled_at=NOW)

    with pytest.raises(services.Conflict) as excinfo:
        services.start_session(instructor, session.pk, now=NOW)

    assert excinfo.value.code == "session_canceled"
    session.refresh_from_db()
    assert session.status == SessionStatus.CANCELED
    assert session.started_at is None


def test_of_two_starts_racing_one_wins_and_the_other_is_told_it_is_live(
    instructor, admin_user, session, monkeypatch
):
    # The admin's start lands while the instructor's room is being created.
    change_while_creating_the_room(monkeypatch, status=SessionStatus.LIVE, started_at=NOW)

    with pytest.raises(services.Conflict) as excinfo:
        services.start_session(instructor, session.pk, now=NOW + timedelta(seconds=1))

    assert excinfo.value.code == "already_live"
    session.refresh_from_db()
    assert session.started_at == NOW
