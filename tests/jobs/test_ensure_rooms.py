"""The ensure-rooms job: rooms for sessions starting within two hours, with back-off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions_app.jobs import rooms
from sessions_app.jobs.models import EmailKind, EmailStatus, SessionEmail
from sessions_app.models import RoomStatus, SessionStatus, TrainingSession
from sessions_app.rooms import RoomProviderRejected, RoomProviderUnavailable
from tests.conftest import NOW

pytestmark = pytest.mark.usefixtures("fake_provider")

START = NOW + timedelta(hours=2)


def reload(session: TrainingSession) -> TrainingSession:
    session.refresh_from_db()
    return session


@pytest.mark.parametrize(
    ("before_start", "created"),
    [
        (timedelta(hours=2, seconds=1), False),
        (timedelta(hours=2), True),
        (timedelta(hours=1, minutes=59, seconds=59), True),
        (timedelta(minutes=1), True),
    ],
    ids=["2h+1s before", "exactly 2h before", "2h-1s before", "1m before"],
)
def test_a_room_is_created_from_two_hours_before_the_start(
    tick, make_session, fake_provider, before_start, created
):
    session = make_session(start_time=START)

    report = tick(rooms, START - before_start)

    assert reload(session).room_status == (RoomStatus.READY if created else RoomStatus.PENDING)
    assert report["created"] == int(created)
    assert fake_provider.created == ([session.pk] if created else [])


def test_a_session_past_its_start_that_has_not_ended_still_gets_a_room(
    tick, make_session, fake_provider
):
    session = make_session(start_time=START, duration_minutes=60)

    tick(rooms, START + timedelta(minutes=59, seconds=59))

    assert reload(session).room_status == RoomStatus.READY
    assert reload(session).room_id == f"fake-{session.pk}"


def test_sessions_that_are_over_canceled_or_not_pending_are_left_alone(
    tick, make_session, fake_provider
):
    make_session(start_time=START - timedelta(hours=3))  # ended an hour before the tick's now
    make_session(title="Canceled", start_time=START, status=SessionStatus.CANCELED)
    make_session(title="Ready", start_time=START, room_status=RoomStatus.READY)
    make_session(title="Failed", start_time=START, room_status=RoomStatus.FAILED)

    report = tick(rooms, NOW + timedelta(hours=1))

    assert fake_provider.created == []
    assert str(report) == "ensure_rooms: 0 created, 0 retrying, 0 failed"


def test_a_transient_error_is_retried_after_the_back_off(tick, make_session, fake_provider):
    session = make_session(start_time=START)
    fake_provider.create_errors.append(RoomProviderUnavailable("503 from the provider"))

    first = tick(rooms, NOW)
    assert str(first) == "ensure_rooms: 0 created, 1 retrying, 0 failed"
    session = reload(session)
    assert (session.room_status, session.room_attempts) == (RoomStatus.PENDING, 1)
    assert session.room_next_attempt_at == NOW + rooms.RETRY_BASE

    tick(rooms, NOW + rooms.RETRY_BASE - timedelta(seconds=1))
    assert len(fake_provider.created) == 1  # not due yet

    tick(rooms, NOW + rooms.RETRY_BASE)
    session = reload(session)
    assert (session.room_status, session.room_attempts) == (RoomStatus.READY, 2)
    assert session.room_next_attempt_at is None
    assert len(fake_provider.created) == 2


def test_the_back_off_doubles_and_honours_a_longer_retry_after(tick, make_session, fake_provider):
    session = make_session(start_time=START)
    fake_provider.create_errors.extend(
        [
            RoomProviderUnavailable("timeout"),
            RoomProviderUnavailable("429", status=429, retry_after=1800),
        ]
    )

    tick(rooms, NOW)
    second_try = NOW + timedelta(minutes=5)
    tick(rooms, second_try)

    # Doubling would wait 10 minutes; the provider asked for 30.
    assert reload(session).room_next_attempt_at == second_try + timedelta(minutes=30)


def test_after_the_last_attempt_the_room_is_failed_and_the_instructor_emailed_once(
    tick, make_session, fake_provider, mailoutbox
):
    session = make_session(start_time=START)
    fake_provider.create_errors.extend(
        RoomProviderUnavailable("down") for _ in range(rooms.MAX_ATTEMPTS + 5)
    )
    now = NOW
    reports = []
    for _ in range(rooms.MAX_ATTEMPTS + 3):  # more ticks than attempts
        reports.append(tick(rooms, now))
        now += rooms.RETRY_CAP

    session = reload(session)
    assert session.room_status == RoomStatus.FAILED
    assert session.room_attempts == rooms.MAX_ATTEMPTS
    assert len(fake_provider.created) == rooms.MAX_ATTEMPTS
    assert [str(r) for r in reports if r["failed"]] == [
        "ensure_rooms: 0 created, 0 retrying, 1 failed, 1 emails sent"
    ]
    (message,) = mailoutbox
    assert message.to == ["kenji@example.com"]
    assert message.subject == "No video room yet: Kata fundamentals"
    assert "after 5 attempts" in message.body
    email = SessionEmail.objects.get()
    assert (email.kind, email.status) == (EmailKind.ROOM_FAILED, EmailStatus.SENT)


def test_a_refusal_fails_the_room_at_once(tick, make_session, fake_provider, mailoutbox):
    session = make_session(start_time=START)
    fake_provider.create_errors.append(RoomProviderRejected("bad preset", status=422))

    report = tick(rooms, NOW)

    assert reload(session).room_status == RoomStatus.FAILED
    assert report["failed"] == 1
    assert len(mailoutbox) == 1


def test_an_unexpected_error_is_retried_like_a_transient_one(tick, make_session, fake_provider):
    session = make_session(start_time=START)
    fake_provider.create_errors.append(KeyError("provider bug"))

    report = tick(rooms, NOW)

    assert report["retrying"] == 1
    assert reload(session).room_status == RoomStatus.PENDING


def test_the_unit_run_twice_creates_one_room(make_session, fake_provider, frozen):
    session = make_session(start_time=START)
    report = rooms.new_report()
    mailer = rooms.mail.Mailer()

    first = rooms.ensure_next_room(NOW, mailer=mailer, report=report)
    second = rooms.ensure_next_room(NOW, mailer=mailer, report=report)

    assert (first, second) == (True, False)
    assert fake_provider.created == [session.pk]


def test_the_two_hour_window_is_real_time_across_the_spring_change(
    tick, make_session, fake_provider
):
    # Sunday 8 March 2026, Los Angeles: 01:30 PST is 09:30 UTC and 03:30 PDT is 10:30 UTC.
    # One real hour apart, though the clock says two.
    session = make_session(start_time=datetime(2026, 3, 8, 10, 30, tzinfo=UTC))

    tick(rooms, datetime(2026, 3, 8, 8, 30, 1, tzinfo=UTC))  # 00:30:01 PST: 2h-1s before

    assert reload(session).room_status == RoomStatus.READY


def _stored_not_due(instructor, count: int) -> None:
    rows = []
    for i in range(count):
        start = NOW + timedelta(days=1 + i) if i % 2 else NOW - timedelta(days=1 + i)
        rows.append(
            TrainingSession(
                instructor=instructor,
                title=f"Stored {i}",
                start_time=start,
                duration_minutes=60,
                end_time=start + timedelta(minutes=60),
                status=SessionStatus.SCHEDULED if i % 2 else SessionStatus.ENDED,
            )
        )
    TrainingSession.objects.bulk_create(rows)


def test_a_tick_costs_the_same_with_5_or_200_sessions_stored_that_are_not_due(
    tick, make_session, instructor
):
    _stored_not_due(instructor, 5)
    for minutes in (30, 90):
        make_session(title=f"A{minutes}", start_time=NOW + timedelta(minutes=minutes))
    with CaptureQueriesContext(connection) as small:
        first = tick(rooms, NOW)

    _stored_not_due(instructor, 195)
    later = NOW + timedelta(hours=4)
    for minutes in (30, 90):
        make_session(title=f"B{minutes}", start_time=later + timedelta(minutes=minutes))
    with CaptureQueriesContext(connection) as large:
        second = tick(rooms, later)

    assert first["created"] == second["created"] == 2
    assert len(small) == len(large)
