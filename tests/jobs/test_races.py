"""Workers racing over the same due sessions, with real threads and real commits.

Meant for PostgreSQL (CI's second run), where the transactions really interleave; on
SQLite they run too, one writer at a time. Each test releases its threads together behind
a barrier. The first shows the race is real: check-then-send without a claim row sends
the same reminder twice.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.core import mail as django_mail
from django.utils import timezone

from sessions_app.jobs import reminders, rooms
from sessions_app.jobs.models import EmailKind, EmailStatus, SessionEmail
from sessions_app.models import RoomStatus, SessionRegistration, TrainingSession
from tests.concurrency import run_together
from wwmaa.models import Role, User

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

WORKERS = 4


@pytest.fixture
def due_sessions(instructor):
    """Five sessions starting in 8 to 40 minutes, each with six registered members."""
    now = timezone.now()
    members = User.objects.bulk_create(
        [
            User(username=f"racer{i}", role=Role.MEMBER, password="!", email=f"r{i}@example.com")
            for i in range(6)
        ]
    )
    sessions = [
        TrainingSession.objects.create(
            instructor=instructor,
            title=f"Race {i}",
            start_time=now + timedelta(minutes=8 * (i + 1)),
            duration_minutes=15,
        )
        for i in range(5)
    ]
    SessionRegistration.objects.bulk_create(
        [SessionRegistration(session=s, user=m) for s in sessions for m in members]
    )
    return now, sessions


def test_check_then_send_without_a_claim_row_sends_twice(due_sessions):
    _, sessions = due_sessions
    session = sessions[0]
    checked = threading.Barrier(2)

    def naive_worker():
        already = SessionEmail.objects.filter(
            session=session, kind=EmailKind.REMINDER_10M, user=session.instructor
        ).exists()
        checked.wait(timeout=30)
        if not already:
            django_mail.send_mail("Reminder", "soon", None, [session.instructor.email])
        return already

    run_together([naive_worker, naive_worker])

    assert len(django_mail.outbox) == 2


def test_workers_racing_over_due_reminders_send_each_exactly_once(due_sessions):
    now, _ = due_sessions

    reports = run_together([lambda: reminders.run(now)] * WORKERS)

    assert not [r for r in reports if isinstance(r, Exception)], reports
    per_key = Counter(
        (m.to[0], m.subject) for m in django_mail.outbox
    )  # each session has its own title
    assert len(django_mail.outbox) == 5 * 7  # instructor + 6 members, one kind each
    assert max(per_key.values()) == 1
    assert sum(r["sent"] for r in reports) == 35
    sent = SessionEmail.objects.filter(status=EmailStatus.SENT)
    assert sent.count() == 35
    assert sent.values("session", "user", "kind").distinct().count() == 35


def test_workers_racing_over_due_rooms_create_one_room_per_session(due_sessions, fake_provider):
    now, sessions = due_sessions

    reports = run_together([lambda: rooms.run(now)] * WORKERS)

    assert not [r for r in reports if isinstance(r, Exception)], reports
    assert sorted(map(str, fake_provider.created)) == sorted(str(s.pk) for s in sessions)
    assert sum(r["created"] for r in reports) == 5
    assert set(TrainingSession.objects.values_list("room_status", flat=True)) == {RoomStatus.READY}
