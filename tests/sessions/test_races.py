"""Races with real threads against the real database (SQLite file or PostgreSQL).

Each test starts its threads together behind a barrier and checks that the guard leaves
exactly one winner or exactly ``capacity`` seats. The first test shows that the race is
real: a naive read-then-write join over-fills the session.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from sessions_app import services
from sessions_app.models import (
    EndReason,
    SessionAttendance,
    SessionRegistration,
    SessionStatus,
    TrainingSession,
)
from tests.concurrency import run_together
from wwmaa.models import Role, User

pytestmark = pytest.mark.django_db(transaction=True)


def make_members(count: int) -> list[User]:
    return User.objects.bulk_create(
        [
            User(username=f"racer{i}", role=Role.MEMBER, password="!", email=f"r{i}@example.com")
            for i in range(count)
        ]
    )


@pytest.fixture
def open_session(instructor):
    """A 10-seat session whose join window is open now, with its room ready."""
    return TrainingSession.objects.create(
        instructor=instructor,
        title="Race class",
        start_time=timezone.now() + timedelta(minutes=5),
        duration_minutes=60,
        capacity=10,
        room_status="ready",
        room_id="local-race",
        room_url="http://testserver/room/",
    )


def test_a_naive_read_then_write_join_over_fills_the_session(open_session):
    """Without the guard the race is real: everyone reads "seats left" before anyone writes."""
    members = make_members(20)
    read_done = threading.Barrier(len(members))

    def naive_join(user):
        def join():
            taken = SessionAttendance.objects.filter(session=open_session).count()
            read_done.wait(timeout=30)
            if taken < open_session.capacity:
                now = timezone.now()
                SessionAttendance.objects.create(
                    session=open_session, user=user, joined_at=now, segment_started_at=now
                )
                return "admitted"
            return "full"

        return join

    results = run_together([naive_join(user) for user in members])

    assert results.count("admitted") == 20
    assert SessionAttendance.objects.filter(session=open_session).count() > 10


def test_fifty_members_joining_ten_seats_at_once_take_exactly_ten(open_session):
    members = make_members(50)

    results = run_together(
        [lambda user=user: services.join_session(user, open_session.pk) for user in members]
    )

    admitted = [r for r in results if isinstance(r, services.JoinResult)]
    refused = [r for r in results if isinstance(r, services.JoinRefused)]
    assert len(admitted) == 10
    assert len(refused) == 40, [r for r in results if not isinstance(r, services.JoinRefused)]
    assert {r.code for r in refused} == {"full"}
    assert SessionAttendance.objects.filter(session=open_session).count() == 10


def fill(session, members) -> None:
    now = timezone.now()
    SessionAttendance.objects.bulk_create(
        [SessionAttendance(session=session, user=user, joined_at=now) for user in members]
    )


def test_a_join_on_a_full_session_is_refused_without_waiting_for_the_lock(open_session):
    """A full session answers "full" from a plain read: joins never queue behind the lock."""
    members = make_members(11)
    fill(open_session, members[:10])
    locked, answered = threading.Event(), threading.Event()

    def hold_the_lock():
        with transaction.atomic():
            TrainingSession.objects.select_for_update().get(pk=open_session.pk)
            locked.set()
            # True only if the join below is answered while this lock is still held.
            return answered.wait(timeout=10)

    def join_meanwhile():
        assert locked.wait(timeout=10)
        try:
            return services.join_session(members[10], open_session.pk)
        finally:
            answered.set()

    held_throughout, refusal = run_together([hold_the_lock, join_meanwhile])

    assert held_throughout is True
    assert isinstance(refusal, services.JoinRefused) and refusal.code == "full"


def test_a_seat_freed_in_a_full_session_goes_to_exactly_one_of_many_joins(open_session):
    """The early refusal reads the seats afresh: a freed seat is taken, and only once."""
    members = make_members(30)
    fill(open_session, members[:10])
    SessionAttendance.objects.filter(session=open_session, user=members[0]).delete()

    results = run_together(
        [lambda user=user: services.join_session(user, open_session.pk) for user in members[10:]]
    )

    admitted = [r for r in results if isinstance(r, services.JoinResult)]
    assert len(admitted) == 1, results
    assert {r.code for r in results if r not in admitted} == {"full"}
    assert SessionAttendance.objects.filter(session=open_session).count() == 10


def test_raising_the_capacity_of_a_full_session_admits_that_many_more(open_session):
    members = make_members(30)
    fill(open_session, members[:10])
    TrainingSession.objects.filter(pk=open_session.pk).update(capacity=12)

    results = run_together(
        [lambda user=user: services.join_session(user, open_session.pk) for user in members[10:]]
    )

    assert sum(isinstance(r, services.JoinResult) for r in results) == 2, results
    assert SessionAttendance.objects.filter(session=open_session).count() == 12


def test_a_member_who_left_a_full_session_gets_back_in_during_a_storm(open_session):
    """Leaving keeps the seat: the early refusal must not turn its holder away."""
    members = make_members(30)
    services.join_session(members[0], open_session.pk)
    fill(open_session, members[1:10])
    services.leave_session(members[0], open_session.pk)

    joining = [members[0], *members[10:]]

    results = run_together(
        [lambda user=user: services.join_session(user, open_session.pk) for user in joining]
    )

    assert isinstance(results[0], services.JoinResult) and results[0].rejoined
    assert {getattr(r, "code", None) for r in results[1:]} == {"full"}, results
    assert SessionAttendance.objects.filter(session=open_session).count() == 10


def test_the_same_member_joining_from_two_tabs_at_once_gets_one_row(open_session, member):
    results = run_together([lambda: services.join_session(member, open_session.pk)] * 2)

    assert all(isinstance(r, services.JoinResult) for r in results), results
    assert SessionAttendance.objects.filter(session=open_session, user=member).count() == 1


def test_two_concurrent_starts_leave_one_winner(open_session, instructor, admin_user):
    results = run_together(
        [
            lambda: services.start_session(instructor, open_session.pk),
            lambda: services.start_session(admin_user, open_session.pk),
        ]
    )

    winners = [r for r in results if isinstance(r, TrainingSession)]
    losers = [r for r in results if isinstance(r, services.Conflict)]
    assert len(winners) == 1, results
    assert len(losers) == 1 and losers[0].code == "already_live"
    open_session.refresh_from_db()
    assert open_session.status == SessionStatus.LIVE


def test_an_end_racing_the_auto_end_leaves_one_winner_and_counts_watch_time_once(
    open_session, instructor, member
):
    started = timezone.now()
    TrainingSession.objects.filter(pk=open_session.pk).update(
        status=SessionStatus.LIVE, started_at=started
    )
    SessionAttendance.objects.create(
        session=open_session,
        user=member,
        joined_at=started,
        segment_started_at=started - timedelta(minutes=10),
    )
    end_at = started + timedelta(minutes=1)

    results = run_together(
        [
            lambda: services.end_session(instructor, open_session.pk, now=end_at),
            lambda: services.finish_session(
                open_session.pk,
                from_status=SessionStatus.LIVE,
                reason=EndReason.AUTO_OVERDUE,
                now=end_at,
            ),
        ]
    )

    ended_by_instructor = isinstance(results[0], TrainingSession)
    ended_by_job = results[1] is True
    assert ended_by_instructor != ended_by_job, results
    if not ended_by_instructor:
        assert isinstance(results[0], services.Conflict) and results[0].code == "session_ended"
    open_session.refresh_from_db()
    assert open_session.status == SessionStatus.ENDED
    row = SessionAttendance.objects.get(session=open_session, user=member)
    assert row.watch_time_seconds == 11 * 60
    assert row.segment_started_at is None


def test_two_ends_at_once_leave_one_winner(open_session, instructor, admin_user):
    TrainingSession.objects.filter(pk=open_session.pk).update(
        status=SessionStatus.LIVE, started_at=timezone.now()
    )

    results = run_together(
        [
            lambda: services.end_session(instructor, open_session.pk),
            lambda: services.end_session(admin_user, open_session.pk),
        ]
    )

    assert sum(isinstance(r, TrainingSession) for r in results) == 1, results
    assert sum(isinstance(r, services.Conflict) for r in results) == 1


def test_overlapping_creates_for_one_instructor_at_once_create_one_session(instructor):
    start = timezone.now() + timedelta(days=1)

    def create(title):
        return lambda: services.create_session(
            instructor, {"title": title, "start_time": start, "duration_minutes": 60}
        )

    results = run_together([create(f"Class {i}") for i in range(5)])

    assert sum(isinstance(r, TrainingSession) for r in results) == 1, results
    conflicts = [r for r in results if isinstance(r, services.Conflict)]
    assert len(conflicts) == 4 and {c.code for c in conflicts} == {"overlap"}
    assert TrainingSession.objects.filter(instructor=instructor).count() == 1


def test_registering_twice_at_once_keeps_one_registration(open_session, member):
    results = run_together([lambda: services.register(member, open_session.pk)] * 4)

    assert all(isinstance(r, tuple) for r in results), results
    assert sum(created for _registration, created in results) == 1
    assert SessionRegistration.objects.filter(session=open_session, user=member).count() == 1
