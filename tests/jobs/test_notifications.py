"""Cancel and move notices: queued with the change, sent by a worker, never lost."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessions_app import notifications, services
from sessions_app.jobs import reminders
from sessions_app.jobs.models import EmailKind, EmailStatus, SessionEmail
from tests.conftest import NOW

START = NOW + timedelta(days=3)


@pytest.fixture
def session(make_session, register, member, other_member):
    session = make_session(start_time=START)
    register(session, member, other_member)
    return session


@pytest.fixture
def change(frozen, django_capture_on_commit_callbacks):
    """Run a service call at NOW and its after-commit work (the notices) with it."""

    def run(service, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(*args, now=NOW, **kwargs)

    return run


def notices(kind) -> list[tuple[str, str]]:
    return sorted(SessionEmail.objects.filter(kind=kind).values_list("user__username", "status"))


def test_canceling_emails_every_registered_member_once(change, session, instructor, mailoutbox):
    change(services.cancel_session, instructor, session.pk)

    assert sorted(m.to[0] for m in mailoutbox) == ["max@example.com", "mia@example.com"]
    assert {m.subject for m in mailoutbox} == {"Canceled: Kata fundamentals"}
    assert notices(EmailKind.CANCELED) == [("max", "sent"), ("mia", "sent")]


def test_the_cancel_notice_queued_twice_is_sent_once(change, session, instructor, mailoutbox):
    change(services.cancel_session, instructor, session.pk)

    assert notifications.session_canceled(session.pk) == 0

    assert len(mailoutbox) == 2


def test_moving_a_session_emails_its_registered_members(change, session, instructor, mailoutbox):
    change(services.update_session, instructor, session.pk, {"start_time": START + timedelta(1)})

    assert {m.subject for m in mailoutbox} == {"New time: Kata fundamentals"}
    assert notices(EmailKind.RESCHEDULED) == [("max", "sent"), ("mia", "sent")]
    row = SessionEmail.objects.filter(kind=EmailKind.RESCHEDULED).first()
    assert (row.previous_start_time, row.start_time) == (START, START + timedelta(days=1))


def test_moving_away_and_back_sends_a_notice_for_each_move(change, session, instructor, mailoutbox):
    for start in (START + timedelta(days=1), START, START + timedelta(days=1)):
        change(services.update_session, instructor, session.pk, {"start_time": start})

    assert len(mailoutbox) == 6
    assert SessionEmail.objects.filter(kind=EmailKind.RESCHEDULED, status="sent").count() == 6


def test_a_notice_the_worker_never_got_is_sent_by_the_next_reminders_tick(
    change, session, instructor, mailoutbox, monkeypatch, tick
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(notifications, "enqueue", broker_down)

    change(services.cancel_session, instructor, session.pk)
    assert mailoutbox == []
    assert notices(EmailKind.CANCELED) == [("max", "queued"), ("mia", "queued")]

    report = tick(reminders, NOW + timedelta(minutes=5))

    assert report["sent"] == 2
    assert notices(EmailKind.CANCELED) == [("max", "sent"), ("mia", "sent")]


def test_a_move_notice_retried_after_another_move_is_skipped_for_the_newer_one(
    change, session, instructor, mailoutbox, flaky_mail, tick
):
    flaky_mail.refuse = {"mia@example.com"}
    change(services.update_session, instructor, session.pk, {"start_time": START + timedelta(1)})
    assert notices(EmailKind.RESCHEDULED) == [("max", "sent"), ("mia", "queued")]

    flaky_mail.refuse = set()
    change(services.update_session, instructor, session.pk, {"start_time": START + timedelta(2)})
    tick(reminders, NOW + timedelta(hours=1))

    mia = SessionEmail.objects.filter(kind=EmailKind.RESCHEDULED, user__username="mia")
    assert sorted(mia.values_list("schedule_version", "status")) == [
        (1, EmailStatus.SKIPPED),
        (2, EmailStatus.SENT),
    ]
    assert mia.get(schedule_version=1).last_error.startswith("the session moved again")
