"""The demo loader of `make run`: every role, an event and sessions around now."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from events_app.models import Event
from sessions_app.management.commands.load_demo import PEOPLE, demo_id
from sessions_app.models import SessionAttendance, SessionStatus, TrainingSession
from sessions_app.services import can_join
from tests.conftest import NOW
from wwmaa.models import Role, User

pytestmark = pytest.mark.usefixtures("frozen")


def load_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def demo_session(key: str) -> TrainingSession:
    return TrainingSession.objects.get(pk=demo_id(f"session-{key}"))


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


@pytest.mark.usefixtures("debug")
def test_it_creates_a_user_of_every_role_who_can_log_in(db, client):
    out = load_demo()

    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    for username, role, _first, _last, password in PEOPLE:
        assert User.objects.get(username=username).role == role
        assert client.login(username=username, password=password), username
        assert f"{username:<9} password: {password}" in out


@pytest.mark.usefixtures("debug")
def test_the_demo_staff_enter_the_admin_and_members_do_not(db):
    load_demo()

    staff = set(User.objects.filter(is_staff=True).values_list("role", flat=True))
    assert staff == {Role.ADMIN, Role.BOARD_MEMBER, Role.INSTRUCTOR}


@pytest.mark.usefixtures("debug")
def test_it_creates_a_public_event_around_now(db):
    load_demo()

    event = Event.objects.get()
    assert event.is_public
    assert event.starts_at < NOW < event.ends_at


@pytest.mark.usefixtures("debug")
def test_it_creates_the_five_sessions_around_now(db):
    load_demo()

    event = Event.objects.get()
    assert TrainingSession.objects.filter(event=event).count() == 5

    soon = demo_session("soon")
    assert soon.status == SessionStatus.SCHEDULED
    assert soon.start_time == NOW + timedelta(minutes=8)

    live = demo_session("live")
    assert live.status == SessionStatus.LIVE
    assert live.started_at is not None
    assert live.start_time <= NOW < live.end_time

    tomorrow = demo_session("tomorrow")
    assert tomorrow.start_time == NOW + timedelta(days=1)

    members = demo_session("members")
    assert members.members_only
    assert not members.is_public


@pytest.mark.usefixtures("debug")
def test_the_full_demo_session_has_no_seat_left(db):
    load_demo()
    full = demo_session("full")
    member = User.objects.get(username="member")

    decision = can_join(full, member)

    assert full.capacity == 1
    assert (decision.can_join, decision.reason, decision.seats_left) == (False, "full", 0)


@pytest.mark.usefixtures("debug")
def test_no_demo_instructor_has_overlapping_sessions(db):
    load_demo()

    for session in TrainingSession.objects.all():
        others = (
            TrainingSession.objects.filter(instructor=session.instructor)
            .exclude(pk=session.pk)
            .overlapping(session.start_time, session.end_time)
        )
        assert not others.exists(), session.title


@pytest.mark.usefixtures("debug")
def test_running_it_twice_creates_no_duplicates(db, frozen):
    load_demo()
    frozen.shift(timedelta(hours=1))

    load_demo()

    assert User.objects.count() == len(PEOPLE)
    assert Event.objects.count() == 1
    assert TrainingSession.objects.count() == 5
    assert SessionAttendance.objects.count() == 1
    # The second run moves the sessions around the new now.
    assert demo_session("soon").start_time == NOW + timedelta(hours=1, minutes=8)


def test_it_refuses_to_run_without_debug(db, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="run it with DEBUG=1 or pass --force"):
        load_demo()

    assert not User.objects.exists()


def test_it_runs_without_debug_when_forced(db, settings):
    settings.DEBUG = False

    load_demo("--force")

    assert TrainingSession.objects.count() == 5
