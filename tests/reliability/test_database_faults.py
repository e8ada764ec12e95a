"""The database goes away for a moment in the middle of a job tick: the tick fails with the
database's error (django-q2 records the failed task), leaves nothing half done that the
next tick cannot finish, and the next tick, five minutes later, completes the work, with
no room, email or transition done twice.

Each test runs a clean tick first to count its queries, then, for every one of those
queries in turn, replays the same tick from the same state with that query failing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from django.core import mail as django_mail
from django.db import OperationalError, connection

from sessions_app import rooms
from sessions_app.jobs import auto_end, cleanup, reminders
from sessions_app.jobs import rooms as rooms_job
from sessions_app.jobs.models import EmailKind, EmailStatus, SessionEmail
from sessions_app.models import (
    EndReason,
    RoomStatus,
    SessionAttendance,
    SessionRegistration,
    SessionStatus,
    TrainingSession,
)
from tests.conftest import NOW
from tests.jobs.fakes import FakeRoomProvider

TICK = timedelta(minutes=5)  # every job but the cleanup runs this often
DAY = timedelta(days=1)  # the cleanup runs daily


class DatabaseGone:
    """An execute wrapper failing the ``fail_at``-th query (1-based) the way a dropped
    connection does; every query is counted."""

    def __init__(self, fail_at: int | None = None):
        self.fail_at = fail_at
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        if self.count == self.fail_at:
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)


@pytest.fixture
def fake_provider(settings, monkeypatch):
    monkeypatch.setitem(rooms.PROVIDERS, "fake", "tests.jobs.fakes.FakeRoomProvider")
    settings.ROOM_PROVIDER = "fake"
    FakeRoomProvider.reset()
    yield FakeRoomProvider
    FakeRoomProvider.reset()


@pytest.fixture
def replay(transactional_db, clock):
    """``replay(arrange, job, check, next_after)``: the fault at every query of a tick.

    Runs in autocommit, as a worker does: each claim commits when the job commits it,
    and what a tick did before the fault stays done.
    """

    def tick(job, at, fault: DatabaseGone) -> Exception | None:
        clock.move_to(at, tick=False)
        with connection.execute_wrapper(fault):
            try:
                job.run(at)
            except OperationalError as exc:
                return exc
        return None

    def fresh(arrange):
        TrainingSession.objects.all().delete()  # attendance, registrations, emails with them
        django_mail.outbox.clear()
        FakeRoomProvider.reset()
        return arrange()

    def run(arrange: Callable[[], object], job, check: Callable[[object], None], next_after):
        # A clean tick: how many queries it makes, and that it does the work.
        state = fresh(arrange)
        clean = DatabaseGone()
        assert tick(job, NOW, clean) is None
        check(state)
        assert clean.count > 0

        for fail_at in range(1, clean.count + 1):
            state = fresh(arrange)
            fault = DatabaseGone(fail_at)
            error = tick(job, NOW, fault)
            assert fault.count >= fail_at
            # The tick fails with the database's error, unless the query belonged to a
            # follow-up the job hands to the broker after its commit (stopping a
            # recording, ending the provider's call): that is logged, never raised.
            assert error is None or isinstance(error, OperationalError)
            assert tick(job, NOW + next_after, DatabaseGone()) is None
            try:
                check(state)
            except AssertionError as failure:
                raise AssertionError(f"with query {fail_at} of {clean.count} failing") from (
                    failure
                )
        return clean.count

    return run


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def test_an_ensure_rooms_tick_cut_short_is_finished_by_the_next(
    db, replay, make_session, fake_provider
):
    def arrange():
        return [
            make_session(title=f"Soon {i}", start_time=NOW + timedelta(minutes=30 + 10 * i))
            for i in range(2)
        ]

    def check(sessions):
        for session in sessions:
            session.refresh_from_db()
            assert session.room_status == RoomStatus.READY
            assert session.room_id == f"fake-{session.pk}"
            # One room each at the provider: any other one made was retired again.
            made = FakeRoomProvider.created.count(session.pk)
            assert made - FakeRoomProvider.retired.count(session.room_id) == 1

    replay(arrange, rooms_job, check, next_after=TICK)


def test_a_reminders_tick_cut_short_is_finished_by_the_next(
    replay, make_session, member, other_member
):
    def arrange():
        session = make_session(start_time=NOW + timedelta(minutes=50))
        for user in (member, other_member):
            SessionRegistration.objects.create(session=session, user=user)
        return session

    def check(session):
        # Each reminder went out exactly once.
        sent = sorted(message.to[0] for message in django_mail.outbox)
        assert sent == ["kenji@example.com", "max@example.com", "mia@example.com"]
        rows = SessionEmail.objects.filter(session=session)
        assert set(rows.filter(kind=EmailKind.REMINDER_24H).values_list("status", flat=True)) == {
            EmailStatus.SKIPPED
        }
        for row in rows.filter(kind=EmailKind.REMINDER_1H):
            # Sent, or handed to the mail server when the database went: never sent again.
            assert row.status == EmailStatus.SENT or (
                row.status == EmailStatus.SENDING and row.sent_at is not None
            )

    replay(arrange, reminders, check, next_after=TICK)


def test_an_auto_end_tick_cut_short_is_finished_by_the_next(replay, make_session, member):
    def arrange():
        live = make_session(
            title="Overran",
            start_time=NOW - timedelta(hours=2),
            status=SessionStatus.LIVE,
            started_at=NOW - timedelta(hours=2),
        )
        SessionAttendance.objects.create(
            session=live,
            user=member,
            joined_at=NOW - timedelta(hours=2),
            segment_started_at=NOW - timedelta(hours=2),
        )
        never = make_session(title="Never started", start_time=NOW - timedelta(hours=3))
        return live, never

    def check(sessions):
        live, never = sessions
        live.refresh_from_db()
        never.refresh_from_db()
        assert (live.status, live.end_reason) == (SessionStatus.ENDED, EndReason.AUTO_OVERDUE)
        assert (never.status, never.end_reason) == (SessionStatus.ENDED, EndReason.NOT_STARTED)
        seat = SessionAttendance.objects.get(session=live)
        assert seat.segment_started_at is None
        assert seat.left_at == live.ended_at
        assert seat.watch_time_seconds == (live.ended_at - seat.joined_at).total_seconds()

    replay(arrange, auto_end, check, next_after=TICK)


def test_a_cleanup_cut_short_is_finished_by_the_next_night(replay, make_session, fake_provider):
    def arrange():
        ended = make_session(
            title="Ended",
            start_time=NOW - timedelta(days=10),
            status=SessionStatus.ENDED,
            ended_at=NOW - timedelta(days=10),
            room_status=RoomStatus.READY,
            room_id="fake-room-ended",
        )
        canceled = make_session(
            title="Canceled",
            start_time=NOW - timedelta(days=9),
            status=SessionStatus.CANCELED,
            canceled_at=NOW - timedelta(days=9),
        )
        return ended, canceled

    def check(sessions):
        for session in sessions:
            session.refresh_from_db()
            assert session.archived_at is not None
        assert sessions[0].room_status == RoomStatus.DELETED
        assert FakeRoomProvider.retired.count("fake-room-ended") >= 1

    replay(arrange, cleanup, check, next_after=DAY)


def test_the_fault_really_reaches_the_database_layer(db, make_session):
    # Guard for the tests above: the wrapper fails the query it names, nothing else.
    fault = DatabaseGone(fail_at=2)
    make_session()
    with connection.execute_wrapper(fault), contextlib.suppress(OperationalError):
        assert TrainingSession.objects.count() == 1
        TrainingSession.objects.count()
        pytest.fail("the second query did not fail")
    assert fault.count == 2
