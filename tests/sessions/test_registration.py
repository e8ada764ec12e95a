"""RSVPs: ``register`` and ``unregister``; a registration is never a seat or a bypass."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from sessions_app.models import SessionRegistration, SessionStatus, TrainingSession
from sessions_app.services import (
    Conflict,
    JoinRefused,
    LoginRequired,
    NotAllowed,
    NotVisible,
    Reason,
    can_join,
    join_session,
    register,
    unregister,
)
from tests.conftest import NOW

START = NOW + timedelta(hours=2)


@pytest.fixture
def session(make_session) -> TrainingSession:
    return make_session(start_time=START)


def test_a_member_registers_for_a_session(session, member):
    registration, created = register(member, session.pk)

    assert created is True
    assert (registration.session, registration.user) == (session, member)
    assert SessionRegistration.objects.get() == registration


@pytest.mark.parametrize("role", ["instructor", "other_instructor", "board_member", "admin_user"])
def test_everyone_from_member_up_may_register(request, session, role):
    user = request.getfixturevalue(role)

    _, created = register(user, session.pk)

    assert created is True


def test_registering_twice_returns_the_same_registration(session, member):
    first, _ = register(member, session.pk)

    again, created = register(member, session.pk)

    assert created is False
    assert again.pk == first.pk
    assert SessionRegistration.objects.count() == 1


def test_a_member_may_register_for_a_live_session(make_session, member):
    session = make_session(start_time=NOW, status=SessionStatus.LIVE, started_at=NOW)

    _, created = register(member, session.pk)

    assert created is True


def test_a_public_user_may_not_register_even_for_a_session_open_to_everyone(
    make_session, public_user
):
    session = make_session(start_time=START, is_public=True, members_only=False)

    with pytest.raises(NotAllowed) as refused:
        register(public_user, session.pk)

    assert refused.value.code == "members_only"
    assert not SessionRegistration.objects.exists()


def test_a_public_user_is_told_a_non_public_session_does_not_exist(session, public_user):
    with pytest.raises(NotVisible) as refused:
        register(public_user, session.pk)

    assert refused.value.code == "not_found"


def test_registering_for_a_missing_session_is_not_visible(db, member):
    with pytest.raises(NotVisible):
        register(member, uuid.uuid4())


def test_an_anonymous_visitor_must_log_in_to_register(session, anonymous):
    with pytest.raises(LoginRequired):
        register(anonymous, session.pk)


@pytest.mark.parametrize(
    ("status", "code"),
    [(SessionStatus.ENDED, "session_ended"), (SessionStatus.CANCELED, "session_canceled")],
)
def test_a_session_that_is_over_refuses_registrations(make_session, member, status, code):
    session = make_session(start_time=START, status=status)

    with pytest.raises(Conflict) as refused:
        register(member, session.pk)

    assert refused.value.code == code
    assert not SessionRegistration.objects.exists()


def test_unregistering_withdraws_the_registration_once(session, member):
    register(member, session.pk)

    assert unregister(member, session.pk) is True
    assert not SessionRegistration.objects.exists()
    assert unregister(member, session.pk) is False


def test_unregistering_leaves_other_registrations_alone(session, member, other_member):
    register(member, session.pk)
    register(other_member, session.pk)

    unregister(member, session.pk)

    assert list(SessionRegistration.objects.values_list("user", flat=True)) == [other_member.pk]


def test_a_member_may_withdraw_from_a_canceled_session(session, member):
    register(member, session.pk)
    TrainingSession.objects.filter(pk=session.pk).update(status=SessionStatus.CANCELED)

    assert unregister(member, session.pk) is True


def test_an_anonymous_visitor_must_log_in_to_unregister(session, anonymous):
    with pytest.raises(LoginRequired):
        unregister(anonymous, session.pk)


def test_unregistering_from_a_missing_session_is_not_visible(db, member):
    with pytest.raises(NotVisible):
        unregister(member, uuid.uuid4())


def test_unregistering_does_not_reveal_a_non_public_session_to_a_public_user(session, public_user):
    with pytest.raises(NotVisible):
        unregister(public_user, session.pk)


def test_a_user_demoted_to_public_may_still_withdraw_their_registration(session, member):
    register(member, session.pk)
    member.role = "public"
    member.save()

    assert unregister(member, session.pk) is True


def test_registering_does_not_open_the_join_window(session, member):
    register(member, session.pk)
    too_early = START - timedelta(minutes=10, seconds=1)

    assert can_join(session, member, now=too_early).reason == Reason.TOO_EARLY
    with pytest.raises(JoinRefused) as refused:
        join_session(member, session.pk, now=too_early)
    assert refused.value.code == Reason.TOO_EARLY


def test_registering_does_not_take_or_reserve_a_seat(make_session, member, other_member):
    session = make_session(start_time=START, capacity=1)
    register(member, session.pk)
    on_time = START - timedelta(minutes=5)

    assert can_join(session, other_member, now=on_time).seats_left == 1
    join_session(other_member, session.pk, now=on_time)

    assert can_join(session, member, now=on_time).reason == Reason.FULL
    with pytest.raises(JoinRefused) as refused:
        join_session(member, session.pk, now=on_time)
    assert refused.value.code == Reason.FULL
