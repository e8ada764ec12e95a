"""Sending: one connection per batch, failures kept on the claim row and retried."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessions_app.jobs import mail, reminders
from sessions_app.jobs.models import EmailKind, EmailStatus, SessionEmail
from tests.conftest import NOW

START = NOW + timedelta(minutes=10)


@pytest.fixture
def session(make_session, register, member):
    session = make_session(start_time=START)
    register(session, member)
    return session


def row_of(username: str, kind=EmailKind.REMINDER_10M) -> SessionEmail:
    return SessionEmail.objects.get(user__username=username, kind=kind)


def test_a_tick_opens_one_mail_connection_for_all_its_emails(
    tick, make_session, register, member, other_member, flaky_mail, mailoutbox
):
    for minutes in (5, 8, 30):
        register(make_session(start_time=NOW + timedelta(minutes=minutes)), member, other_member)

    report = tick(reminders, NOW)

    assert report["sent"] == 9
    assert len(mailoutbox) == 9
    assert flaky_mail.opened == 1


def test_a_failed_send_is_recorded_and_retried_by_the_next_tick(
    tick, session, flaky_mail, mailoutbox
):
    flaky_mail.refuse = {"mia@example.com"}

    first = tick(reminders, NOW)

    assert str(first) == "reminders: 1 sent, 4 skipped, 1 retrying, 0 failed"
    failed = row_of("mia")
    assert failed.status == EmailStatus.QUEUED
    assert failed.attempts == 1
    assert failed.next_attempt_at == NOW + mail.RETRY_BASE
    assert failed.last_error.startswith("SMTPRecipientsRefused")
    assert row_of("kenji").status == EmailStatus.SENT

    flaky_mail.refuse = set()
    tick(reminders, NOW + mail.RETRY_BASE - timedelta(seconds=1))
    assert row_of("mia").status == EmailStatus.QUEUED  # not due yet

    second = tick(reminders, NOW + mail.RETRY_BASE)

    assert str(second) == "reminders: 1 sent, 0 skipped, 0 retrying, 0 failed"
    sent = row_of("mia")
    assert (sent.status, sent.attempts, sent.last_error) == (EmailStatus.SENT, 2, "")
    assert sorted(m.to[0] for m in mailoutbox) == ["kenji@example.com", "mia@example.com"]


def test_a_send_that_keeps_failing_is_kept_as_failed_with_its_error(
    tick, make_session, register, member, flaky_mail, mailoutbox
):
    session = make_session(start_time=NOW + timedelta(hours=20))
    register(session, member)
    flaky_mail.refuse = {"mia@example.com"}

    now = NOW
    for _ in range(mail.MAX_ATTEMPTS + 2):
        tick(reminders, now)
        now += mail.RETRY_CAP

    row = row_of("mia", EmailKind.REMINDER_24H)
    assert row.status == EmailStatus.FAILED
    assert row.attempts == mail.MAX_ATTEMPTS
    assert "SMTPRecipientsRefused" in row.last_error
    assert [m.to for m in mailoutbox] == [["kenji@example.com"]]


def test_a_retry_that_is_no_longer_the_most_imminent_kind_is_skipped(
    tick, make_session, register, member, flaky_mail, mailoutbox
):
    session = make_session(start_time=NOW + timedelta(minutes=62))
    register(session, member)
    flaky_mail.refuse = {"mia@example.com"}
    tick(reminders, NOW)  # the 24-hour kind was due: sent to kenji, failed for mia
    flaky_mail.refuse = set()

    tick(reminders, NOW + timedelta(minutes=5))  # now the 1-hour kind is the one due

    assert row_of("mia", EmailKind.REMINDER_24H).status == EmailStatus.SKIPPED
    assert row_of("mia", EmailKind.REMINDER_1H).status == EmailStatus.SENT
    assert [m.subject for m in mailoutbox if m.to == ["mia@example.com"]] == [
        "Reminder: Kata fundamentals starts in 57 minutes"
    ]


def test_a_reminder_claimed_but_never_finished_is_not_sent_again(tick, session, mailoutbox):
    # A worker died between its claim and the send's outcome: the email may have gone.
    SessionEmail.objects.create(
        session=session,
        user=session.instructor,
        kind=EmailKind.REMINDER_10M,
        start_time=START,
        status=EmailStatus.SENDING,
        attempts=1,
    )

    tick(reminders, NOW)

    assert [m.to for m in mailoutbox] == [["mia@example.com"]]
    assert row_of("kenji").status == EmailStatus.SENDING
