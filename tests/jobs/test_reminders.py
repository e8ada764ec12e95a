"""The reminders job: 24 hours, 1 hour and 10 minutes before, once per start time.

A kind with offset ``d`` is due while ``start - d <= now < start``; a tick sends only the
most imminent due kind and records the others as skipped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions_app import services
from sessions_app.jobs import reminders
from sessions_app.jobs.models import EmailKind, EmailStatus, SessionEmail
from sessions_app.models import SessionStatus, TrainingSession
from tests.conftest import NOW, make_user
from wwmaa.models import Role

START = NOW + timedelta(days=2)  # Wednesday 3 June 2026, 16:00 UTC


@pytest.fixture
def session(make_session, register, member):
    session = make_session(start_time=START)
    register(session, member)
    return session


def reminders_sent(kind=None) -> list[tuple[str, str]]:
    """(recipient, kind) of every reminder sent, sorted."""
    rows = SessionEmail.objects.filter(status=EmailStatus.SENT).exclude(
        kind__in=[EmailKind.CANCELED, EmailKind.RESCHEDULED, EmailKind.ROOM_FAILED]
    )
    if kind:
        rows = rows.filter(kind=kind)
    return sorted(rows.values_list("user__username", "kind"))


# When each kind is due

BOUNDARIES = [
    (timedelta(hours=24, seconds=1), None),
    (timedelta(hours=24), EmailKind.REMINDER_24H),
    (timedelta(hours=23, minutes=59, seconds=59), EmailKind.REMINDER_24H),
    (timedelta(hours=1, seconds=1), EmailKind.REMINDER_24H),
    (timedelta(hours=1), EmailKind.REMINDER_1H),
    (timedelta(minutes=59, seconds=59), EmailKind.REMINDER_1H),
    (timedelta(minutes=10, seconds=1), EmailKind.REMINDER_1H),
    (timedelta(minutes=10), EmailKind.REMINDER_10M),
    (timedelta(minutes=9, seconds=59), EmailKind.REMINDER_10M),
    (timedelta(seconds=1), EmailKind.REMINDER_10M),
    (timedelta(0), None),
    (-timedelta(seconds=1), None),
]


@pytest.mark.parametrize(
    ("before_start", "kind"),
    BOUNDARIES,
    ids=[f"{'-' if d < timedelta(0) else ''}{abs(d)} before" for d, _ in BOUNDARIES],
)
def test_the_kind_sent_is_the_most_imminent_one_due_at_that_instant(
    tick, session, mailoutbox, before_start, kind
):
    tick(reminders, START - before_start)

    expected = [] if kind is None else [("kenji", kind), ("mia", kind)]
    assert reminders_sent() == expected
    assert len(mailoutbox) == len(expected)


def test_a_day_of_ticks_sends_each_kind_once_to_each_person(tick, session, mailoutbox):
    for before in (
        timedelta(hours=25),
        timedelta(hours=24),
        timedelta(hours=23, minutes=55),
        timedelta(hours=12),
        timedelta(hours=1),
        timedelta(minutes=55),
        timedelta(minutes=10),
        timedelta(minutes=5),
        timedelta(0),
    ):
        tick(reminders, START - before)

    kinds = [EmailKind.REMINDER_10M, EmailKind.REMINDER_1H, EmailKind.REMINDER_24H]
    assert reminders_sent() == sorted((user, kind) for user in ("kenji", "mia") for kind in kinds)
    assert len(mailoutbox) == 6
    assert not SessionEmail.objects.filter(status=EmailStatus.SKIPPED).exists()


def test_it_reminds_the_instructor_and_registered_members_only(
    tick, session, register, other_member, mailoutbox
):
    inactive = make_user("ivy", Role.MEMBER, is_active=False)
    no_address = make_user("noah", Role.MEMBER)
    no_address.email = ""
    no_address.save(update_fields=["email"])
    register(session, inactive, no_address)
    make_user("ulla", Role.MEMBER)  # not registered

    tick(reminders, START - timedelta(minutes=10))

    assert sorted(message.to[0] for message in mailoutbox) == [
        "kenji@example.com",
        "mia@example.com",
    ]


def test_a_cluster_down_for_an_hour_sends_only_the_most_imminent_kind(tick, session, mailoutbox):
    tick(reminders, START - timedelta(hours=24))
    mailoutbox.clear()

    # No tick ran from 65 minutes before the start until 5 minutes before: the 1-hour and
    # the 10-minute reminders are both due now.
    report = tick(reminders, START - timedelta(minutes=5))

    assert str(report) == "reminders: 2 sent, 2 skipped, 0 retrying, 0 failed"
    assert sorted((m.to[0], m.subject) for m in mailoutbox) == [
        ("kenji@example.com", "Reminder: Kata fundamentals starts in 5 minutes"),
        ("mia@example.com", "Reminder: Kata fundamentals starts in 5 minutes"),
    ]
    skipped = SessionEmail.objects.filter(status=EmailStatus.SKIPPED)
    assert sorted(skipped.values_list("user__username", "kind")) == [
        ("kenji", EmailKind.REMINDER_1H),
        ("mia", EmailKind.REMINDER_1H),
    ]
    assert {row.last_error for row in skipped} == {"a more imminent reminder was due"}


def test_a_session_created_50_minutes_before_its_start_gets_the_1_hour_reminder_only(
    tick, make_session, mailoutbox
):
    make_session(start_time=NOW + timedelta(minutes=50))

    report = tick(reminders, NOW)

    assert report["sent"] == 1 and report["skipped"] == 1
    assert reminders_sent() == [("kenji", EmailKind.REMINDER_1H)]
    assert mailoutbox[0].subject == "Reminder: Kata fundamentals starts in 50 minutes"


def test_a_session_moved_after_its_24_hour_reminder_is_reminded_again_for_its_new_time(
    tick, session, instructor, mailoutbox, django_capture_on_commit_callbacks
):
    tick(reminders, START - timedelta(hours=24))
    assert reminders_sent() == [("kenji", "reminder_24h"), ("mia", "reminder_24h")]

    new_start = START + timedelta(days=1, hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        services.update_session(
            instructor, session.pk, {"start_time": new_start}, now=START - timedelta(hours=23)
        )
    mailoutbox.clear()

    tick(reminders, START - timedelta(hours=1))  # the old time: nothing is due any more
    assert mailoutbox == []

    tick(reminders, new_start - timedelta(hours=24))
    assert sorted(m.to[0] for m in mailoutbox) == ["kenji@example.com", "mia@example.com"]
    keys = SessionEmail.objects.filter(kind=EmailKind.REMINDER_24H, user__username="mia")
    assert sorted(keys.values_list("start_time", flat=True)) == [START, new_start]


def test_a_session_moved_closer_after_its_24_hour_reminder_gets_the_1_hour_one_for_its_new_time(
    tick, session, mailoutbox
):
    tick(reminders, START - timedelta(hours=24))
    TrainingSession.objects.filter(pk=session.pk).update(
        start_time=START - timedelta(hours=23), end_time=START - timedelta(hours=22)
    )
    mailoutbox.clear()

    tick(reminders, START - timedelta(hours=23, minutes=40))

    assert {m.subject for m in mailoutbox} == {"Reminder: Kata fundamentals starts in 40 minutes"}
    assert len(mailoutbox) == 2


def test_a_canceled_session_gets_no_reminder(tick, session, instructor, mailoutbox):
    services.cancel_session(instructor, session.pk, now=NOW)
    mailoutbox.clear()

    for before in (timedelta(hours=24), timedelta(hours=1), timedelta(minutes=10)):
        tick(reminders, START - before)

    assert mailoutbox == []
    assert reminders_sent() == []


def test_a_session_started_early_gets_no_10_minute_reminder(tick, session, mailoutbox):
    TrainingSession.objects.filter(pk=session.pk).update(
        status=SessionStatus.LIVE, started_at=START - timedelta(minutes=20)
    )

    tick(reminders, START - timedelta(minutes=10))

    assert mailoutbox == []


def test_a_session_past_its_start_gets_no_reminder_even_if_never_sent_one(
    tick, session, mailoutbox
):
    report = tick(reminders, START + timedelta(minutes=1))

    assert report["sent"] == 0 and report["skipped"] == 0
    assert mailoutbox == []


def test_the_unit_run_twice_sends_nothing_the_second_time(
    session, mailoutbox, django_capture_on_commit_callbacks, frozen
):
    now = START - timedelta(minutes=10)
    frozen.move_to(now)
    report = reminders.new_report()
    mailer = reminders.mail.Mailer()

    with django_capture_on_commit_callbacks(execute=True):
        first = reminders.send_next_reminder(now, mailer=mailer, report=report)
    with django_capture_on_commit_callbacks(execute=True):
        second = reminders.send_next_reminder(now, mailer=mailer, report=report)

    assert (first, second) == (True, False)
    assert len(mailoutbox) == 2
    assert SessionEmail.objects.count() == 6  # 10 min sent, 1 h and 24 h skipped, for two


def test_a_tick_run_twice_at_the_same_instant_sends_nothing_the_second_time(
    tick, session, mailoutbox
):
    first = tick(reminders, START - timedelta(hours=1))
    second = tick(reminders, START - timedelta(hours=1))

    assert first["sent"] == 2
    assert str(second) == "reminders: 0 sent, 0 skipped, 0 retrying, 0 failed"
    assert len(mailoutbox) == 2


def test_the_24_hour_reminder_counts_real_hours_across_the_berlin_spring_change(
    tick, make_session, register, member, mailoutbox
):
    # Sunday 29 March 2026 10:00 CEST is 08:00 UTC; clocks went forward at 01:00 UTC.
    start = datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    session = make_session(start_time=start)
    register(session, member)

    tick(reminders, datetime(2026, 3, 28, 7, 59, 59, tzinfo=UTC))  # 08:59:59 CET
    assert mailoutbox == []

    tick(reminders, datetime(2026, 3, 28, 8, 0, tzinfo=UTC))  # 09:00 CET, 24 hours before
    to_mia = next(m for m in mailoutbox if m.to == ["mia@example.com"])
    assert to_mia.subject == "Reminder: Kata fundamentals starts in 24 hours"
    assert "Sunday 29 March 2026, 10:00 (Europe/Berlin)" in to_mia.body


def test_the_24_hour_reminder_counts_real_hours_across_the_los_angeles_spring_change(
    tick, make_session, mailoutbox
):
    # Sunday 8 March 2026 09:00 PDT is 16:00 UTC; 24 hours before is 08:00 PST, not 09:00.
    start = datetime(2026, 3, 8, 16, 0, tzinfo=UTC)
    make_session(start_time=start)

    tick(reminders, datetime(2026, 3, 7, 15, 59, 59, tzinfo=UTC))
    assert mailoutbox == []

    tick(reminders, datetime(2026, 3, 7, 16, 0, tzinfo=UTC))
    (message,) = mailoutbox
    assert message.to == ["kenji@example.com"]
    assert "Sunday 8 March 2026, 09:00 (America/Los_Angeles)" in message.body


def _stored_not_due(instructor, count: int) -> None:
    """Sessions that cost a tick nothing: far ahead, long over, canceled."""
    rows = []
    for i in range(count):
        start = NOW + timedelta(days=5 + i % 30) if i % 3 else NOW - timedelta(days=1 + i)
        status = [SessionStatus.ENDED, SessionStatus.SCHEDULED, SessionStatus.CANCELED][i % 3]
        if status == SessionStatus.CANCELED:
            start = NOW + timedelta(hours=3, minutes=i)  # inside the 24-hour window
        rows.append(
            TrainingSession(
                instructor=instructor,
                title=f"Stored {i}",
                start_time=start,
                duration_minutes=60,
                end_time=start + timedelta(minutes=60),
                status=status,
            )
        )
    TrainingSession.objects.bulk_create(rows)


def _count_tick_queries(tick, now) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        report = tick(reminders, now)
    return len(queries), report


def test_a_tick_costs_the_same_with_5_or_200_sessions_stored_that_are_not_due(
    tick, make_session, register, member, other_member, instructor
):
    _stored_not_due(instructor, 5)
    for minutes in (20, 40):
        register(make_session(start_time=NOW + timedelta(minutes=minutes)), member)
    small, first = _count_tick_queries(tick, NOW)

    _stored_not_due(instructor, 195)
    # The same work again: two sessions due, at a later instant; the first two are done.
    later = NOW + timedelta(hours=6)
    for minutes in (20, 40):
        register(make_session(start_time=later + timedelta(minutes=minutes)), other_member)
    large, second = _count_tick_queries(tick, later)

    assert first["sent"] == second["sent"] == 4
    assert small == large
