"""``can_join`` (SPEC §5): every reason code, the order they are checked in, the windows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser

from sessions_app.models import (
    RoomStatus,
    SessionAttendance,
    SessionStatus,
    TrainingSession,
)
from sessions_app.services import Reason, can_join
from sessions_app.services.eligibility import MESSAGES, Caller, holds_seat, seats_taken
from tests.conftest import NOW, make_user
from wwmaa.models import Role

# Sessions here start two hours after NOW and last an hour; each test judges at an
# instant relative to START by passing ``now=``.
START = NOW + timedelta(hours=2)
END = START + timedelta(minutes=60)
MEMBER_OPENS = START - timedelta(minutes=10)
HOST_OPENS = START - timedelta(minutes=30)
SECOND = timedelta(seconds=1)


@pytest.fixture
def session(make_session) -> TrainingSession:
    """A members-only, non-public session with a ready room, as most sessions are."""
    return make_session(start_time=START, room_status=RoomStatus.READY)


def seat(session: TrainingSession, *users) -> None:
    """Give each user a seat, as a join would: an attendance row."""
    for user in users:
        SessionAttendance.objects.create(
            session=session, user=user, joined_at=MEMBER_OPENS, segment_started_at=MEMBER_OPENS
        )


def ended(session: TrainingSession) -> TrainingSession:
    session.status = SessionStatus.ENDED
    session.ended_at = END
    session.save()
    return session


def canceled(session: TrainingSession) -> TrainingSession:
    session.status = SessionStatus.CANCELED
    session.canceled_at = NOW
    session.save()
    return session


def live(session: TrainingSession, started_at=HOST_OPENS) -> TrainingSession:
    session.status = SessionStatus.LIVE
    session.started_at = started_at
    session.save()
    return session


# Each reason on its own.


def test_an_anonymous_visitor_must_log_in(session, anonymous):
    decision = can_join(session, anonymous, now=START)

    assert decision.can_join is False
    assert decision.reason == Reason.LOGIN_REQUIRED
    assert decision.message == MESSAGES[Reason.LOGIN_REQUIRED]


def test_nobody_may_join_a_canceled_session(session, member):
    decision = can_join(canceled(session), member, now=START)

    assert (decision.can_join, decision.reason) == (False, Reason.CANCELED)


def test_nobody_may_join_an_ended_session_even_with_a_seat(session, member):
    seat(session, member)

    decision = can_join(ended(session), member, now=START)

    assert (decision.can_join, decision.reason) == (False, Reason.ENDED)


def test_the_instructor_may_not_join_their_ended_session(session, instructor):
    decision = can_join(ended(session), instructor, now=START)

    assert decision.reason == Reason.ENDED


def test_a_public_user_may_not_see_a_non_public_session(session, public_user):
    decision = can_join(session, public_user, now=START)

    assert (decision.can_join, decision.reason) == (False, Reason.NOT_VISIBLE)


def test_a_public_user_is_refused_a_public_members_only_session(make_session, public_user):
    session = make_session(start_time=START, is_public=True, members_only=True)

    decision = can_join(session, public_user, now=START)

    assert (decision.can_join, decision.reason) == (False, Reason.MEMBERS_ONLY)


def test_a_public_user_may_join_a_public_session_open_to_everyone(make_session, public_user):
    session = make_session(start_time=START, is_public=True, members_only=False)

    decision = can_join(session, public_user, now=MEMBER_OPENS)

    assert (decision.can_join, decision.reason) == (True, Reason.OK)
    assert decision.message == MESSAGES[Reason.OK]


@pytest.mark.parametrize("role", ["member", "other_instructor", "board_member", "admin_user"])
def test_members_and_above_may_join_a_members_only_session(request, session, role):
    user = request.getfixturevalue(role)

    decision = can_join(session, user, now=START)

    assert (decision.can_join, decision.reason) == (True, Reason.OK)


# The join window.


def test_a_member_may_join_exactly_ten_minutes_before_the_start(session, member):
    decision = can_join(session, member, now=MEMBER_OPENS)

    assert (decision.can_join, decision.reason) == (True, Reason.OK)
    assert decision.opens_at == MEMBER_OPENS


def test_a_member_is_too_early_one_second_before_the_window_opens(session, member):
    decision = can_join(session, member, now=MEMBER_OPENS - SECOND)

    assert (decision.can_join, decision.reason) == (False, Reason.TOO_EARLY)
    assert decision.opens_at == START - timedelta(minutes=10)
    assert decision.message == MESSAGES[Reason.TOO_EARLY]


@pytest.mark.parametrize("role", ["instructor", "admin_user"])
def test_the_instructor_and_admins_may_enter_thirty_minutes_before(request, session, role):
    user = request.getfixturevalue(role)

    decision = can_join(session, user, now=HOST_OPENS)

    assert (decision.can_join, decision.reason) == (True, Reason.OK)
    assert decision.opens_at == HOST_OPENS


@pytest.mark.parametrize("role", ["instructor", "admin_user"])
def test_the_instructor_and_admins_are_too_early_before_thirty_minutes(request, session, role):
    user = request.getfixturevalue(role)

    decision = can_join(session, user, now=HOST_OPENS - SECOND)

    assert (decision.can_join, decision.reason) == (False, Reason.TOO_EARLY)
    assert decision.opens_at == HOST_OPENS
    assert "30 minutes" in decision.message


@pytest.mark.parametrize("role", ["board_member", "other_instructor"])
def test_board_members_and_other_instructors_wait_for_the_member_window(request, session, role):
    user = request.getfixturevalue(role)

    early = can_join(session, user, now=HOST_OPENS)
    on_time = can_join(session, user, now=MEMBER_OPENS)

    assert (early.reason, early.opens_at) == (Reason.TOO_EARLY, MEMBER_OPENS)
    assert on_time.reason == Reason.OK


def test_a_member_may_join_a_session_the_instructor_started_early(session, member):
    live(session, started_at=HOST_OPENS)

    decision = can_join(session, member, now=HOST_OPENS + SECOND)

    assert (decision.can_join, decision.reason) == (True, Reason.OK)


def test_a_session_that_never_started_is_too_late_at_its_end_time(session, member):
    decision = can_join(session, member, now=END)

    assert (decision.can_join, decision.reason) == (False, Reason.TOO_LATE)


def test_a_session_that_never_started_may_be_joined_until_one_second_before_its_end(
    session, member
):
    decision = can_join(session, member, now=END - SECOND)

    assert decision.reason == Reason.OK


def test_the_instructor_is_too_late_for_a_session_they_never_started(session, instructor):
    decision = can_join(session, instructor, now=END)

    assert decision.reason == Reason.TOO_LATE


def test_a_live_session_past_its_end_time_may_still_be_joined(session, member):
    live(session)

    decision = can_join(session, member, now=END + timedelta(minutes=20))

    assert (decision.can_join, decision.reason) == (True, Reason.OK)


# Capacity.


def test_a_member_is_refused_when_other_users_hold_every_seat(
    make_session, member, other_member, board_member
):
    session = make_session(start_time=START, capacity=2, room_status=RoomStatus.READY)
    seat(session, other_member, board_member)

    decision = can_join(session, member, now=START)

    assert (decision.can_join, decision.reason) == (False, Reason.FULL)
    assert decision.seats_left == 0
    assert decision.message == MESSAGES[Reason.FULL]


def test_a_member_who_holds_a_seat_is_not_refused_when_the_session_is_full(
    make_session, member, other_member
):
    session = make_session(start_time=START, capacity=2, room_status=RoomStatus.READY)
    seat(session, member, other_member)

    decision = can_join(session, member, now=START)

    assert (decision.can_join, decision.reason) == (True, Reason.OK)
    assert decision.seats_left == 0


def test_the_instructor_does_not_take_a_seat(make_session, instructor, member):
    session = make_session(start_time=START, capacity=1, room_status=RoomStatus.READY)
    seat(session, instructor)

    decision = can_join(session, member, now=START)

    assert (decision.can_join, decision.reason) == (True, Reason.OK)
    assert decision.seats_left == 1


def test_the_instructor_is_never_refused_for_capacity(make_session, instructor, member):
    session = make_session(start_time=START, capacity=1, room_status=RoomStatus.READY)
    seat(session, member)

    decision = can_join(session, instructor, now=START)

    assert (decision.can_join, decision.reason) == (True, Reason.OK)


def test_an_admin_is_refused_a_full_session_like_anyone_else(make_session, admin_user, member):
    session = make_session(start_time=START, capacity=1, room_status=RoomStatus.READY)
    seat(session, member)

    decision = can_join(session, admin_user, now=START)

    assert decision.reason == Reason.FULL


def test_seats_left_counts_the_seats_other_users_hold(make_session, member, other_member):
    session = make_session(start_time=START, capacity=3, room_status=RoomStatus.READY)
    seat(session, other_member)

    decision = can_join(session, member, now=START)

    assert decision.seats_left == 2


def test_seats_left_is_none_for_an_unlimited_session(session, member, other_member):
    seat(session, other_member)

    decision = can_join(session, member, now=START)

    assert session.capacity is None
    assert decision.seats_left is None


# The room.


@pytest.mark.parametrize("room_status", [RoomStatus.FAILED, RoomStatus.DELETED])
def test_a_room_that_failed_or_was_deleted_is_not_ready(make_session, member, room_status):
    session = make_session(start_time=START, room_status=room_status)

    decision = can_join(session, member, now=START)

    assert (decision.can_join, decision.reason) == (False, Reason.ROOM_NOT_READY)
    assert decision.message == MESSAGES[Reason.ROOM_NOT_READY]


def test_a_pending_room_does_not_stop_a_join_because_the_join_creates_it(make_session, member):
    session = make_session(start_time=START, room_status=RoomStatus.PENDING)

    decision = can_join(session, member, now=START)

    assert (decision.can_join, decision.reason) == (True, Reason.OK)


# The order of the checks: the first reason that applies is the answer.


def test_an_anonymous_visitor_on_a_canceled_session_is_told_to_log_in(session, anonymous):
    decision = can_join(canceled(session), anonymous, now=START)

    assert decision.reason == Reason.LOGIN_REQUIRED


def test_a_public_user_on_a_canceled_non_public_session_is_told_it_was_canceled(
    session, public_user
):
    decision = can_join(canceled(session), public_user, now=START)

    assert decision.reason == Reason.CANCELED


def test_a_public_user_on_an_ended_non_public_session_is_told_it_ended(session, public_user):
    decision = can_join(ended(session), public_user, now=START)

    assert decision.reason == Reason.ENDED


def test_a_public_user_on_a_non_public_members_only_session_is_not_told_it_is_members_only(
    session, public_user
):
    assert session.members_only is True

    decision = can_join(session, public_user, now=START)

    assert decision.reason == Reason.NOT_VISIBLE


def test_members_only_is_checked_before_the_join_window(make_session, public_user):
    session = make_session(start_time=START, is_public=True, members_only=True)

    decision = can_join(session, public_user, now=HOST_OPENS)

    assert decision.reason == Reason.MEMBERS_ONLY


def test_too_early_is_checked_before_full(make_session, member, other_member):
    session = make_session(start_time=START, capacity=1, room_status=RoomStatus.READY)
    seat(session, other_member)

    decision = can_join(session, member, now=MEMBER_OPENS - SECOND)

    assert decision.reason == Reason.TOO_EARLY
    assert decision.seats_left == 0


def test_too_late_is_checked_before_full(make_session, member, other_member):
    session = make_session(start_time=START, capacity=1, room_status=RoomStatus.READY)
    seat(session, other_member)

    decision = can_join(session, member, now=END)

    assert decision.reason == Reason.TOO_LATE


def test_full_is_checked_before_the_room(make_session, member, other_member):
    session = make_session(start_time=START, capacity=1, room_status=RoomStatus.FAILED)
    seat(session, other_member)

    decision = can_join(session, member, now=START)

    assert decision.reason == Reason.FULL


def test_the_join_window_is_checked_before_the_room(make_session, member):
    session = make_session(start_time=START, room_status=RoomStatus.FAILED)

    decision = can_join(session, member, now=MEMBER_OPENS - SECOND)

    assert decision.reason == Reason.TOO_EARLY


# Callers that counted seats for a whole page pass the counts in.


@pytest.mark.parametrize(
    ("capacity", "seated_others", "member_seated"),
    [
        (None, 2, False),
        (3, 1, False),
        (2, 2, False),
        (2, 1, True),
        (1, 1, False),
    ],
)
def test_passing_the_seat_counts_gives_the_same_answer_as_looking_them_up(
    make_session, member, other_member, board_member, capacity, seated_others, member_seated
):
    session = make_session(start_time=START, capacity=capacity, room_status=RoomStatus.READY)
    seat(session, *[other_member, board_member][:seated_others])
    if member_seated:
        seat(session, member)

    looked_up = can_join(session, member, now=START)
    passed_in = can_join(
        session,
        member,
        now=START,
        taken=seats_taken(session),
        user_holds_seat=holds_seat(session, member),
    )

    assert passed_in == looked_up


def test_the_seat_counts_passed_in_are_used_instead_of_a_lookup(make_session, member):
    session = make_session(start_time=START, capacity=2, room_status=RoomStatus.READY)

    full = can_join(session, member, now=START, taken=2, user_holds_seat=False)
    seated = can_join(session, member, now=START, taken=2, user_holds_seat=True)

    assert (full.reason, full.seats_left) == (Reason.FULL, 0)
    assert (seated.reason, seated.seats_left) == (Reason.OK, 0)


def test_it_judges_at_the_current_time_when_no_instant_is_given(frozen, session, member):
    frozen.move_to(MEMBER_OPENS - SECOND)
    assert can_join(session, member).reason == Reason.TOO_EARLY

    frozen.move_to(MEMBER_OPENS)
    assert can_join(session, member).reason == Reason.OK


# A list asks for many sessions with one caller, whose role it works out once.


@pytest.mark.parametrize(
    ("role", "extra", "is_member", "is_admin"),
    [
        (Role.PUBLIC, {}, False, False),
        (Role.MEMBER, {}, True, False),
        (Role.INSTRUCTOR, {}, True, False),
        (Role.BOARD_MEMBER, {}, True, False),
        (Role.ADMIN, {}, True, True),
        (Role.PUBLIC, {"is_superuser": True}, True, True),
        (Role.ADMIN, {"is_active": False}, False, False),
    ],
)
def test_a_callers_role_facts_are_those_of_the_role_ladder(db, role, extra, is_member, is_admin):
    user = make_user("someone", role, **extra)

    assert Caller.of(user) == Caller(True, user.pk, is_member, is_admin)


@pytest.mark.parametrize("user", [None, AnonymousUser()])
def test_an_anonymous_caller_has_no_id_and_no_role(user):
    assert Caller.of(user) == Caller(False, None, False, False)


def test_a_caller_worked_out_once_serves_every_session(
    make_session, member, other_instructor, instructor
):
    """The same answers with ``caller=`` as without, for the owner and for someone else."""
    sessions = [
        make_session(start_time=START, room_status=RoomStatus.READY),
        make_session(start_time=START, instructor=other_instructor, is_public=True),
        make_session(start_time=START, members_only=False, capacity=1),
    ]
    for user in (member, instructor, other_instructor):
        caller = Caller.of(user)
        for session in sessions:
            for now in (HOST_OPENS - SECOND, HOST_OPENS, MEMBER_OPENS, END):
                assert can_join(session, user, now=now, caller=caller) == can_join(
                    session, user, now=now
                )
