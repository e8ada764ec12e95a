"""Reminders 24 hours, 1 hour and 10 minutes before a session (SPEC §6).

When a kind is due: a kind with offset ``d`` is due for a scheduled session starting at
``start`` while ``start - d <= now < start``. Exactly at ``start - 10 minutes`` the
10-minute kind is due; one second earlier the 1-hour kind is the most imminent one; from
the start on nothing is. A tick sends each session's *most imminent* due kind to the
instructor and every registered member who has not had it for this start time, and
records the other due kinds as skipped for them (a cluster that was down for an hour
sends one reminder, not three).

Exactly once: a ``SessionEmail`` claim row per (session, user, kind, start_time) is
inserted under a unique constraint before anything is sent, and the email goes out only
after that insert committed. Moving a session changes ``start_time``, hence the keys: its
reminders are armed again for the new time.

Cost: one query per kind finds the next session with someone still to remind, through
the (status, start_time) index and the claim table's unique index; sessions already
reminded, and sessions outside the next 24 hours, cost nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from sessions_app.jobs import mail
from sessions_app.jobs.base import JobReport, run_units
from sessions_app.jobs.models import EmailKind, EmailStatus, SessionEmail
from sessions_app.models import SessionRegistration, SessionStatus, TrainingSession

# Most imminent first: the order in which a unit looks for work.
KINDS = tuple(sorted(mail.REMINDER_OFFSETS, key=mail.REMINDER_OFFSETS.__getitem__))


def _window(kind: EmailKind, now: datetime) -> tuple[datetime, datetime]:
    """Start times for which ``kind`` is the most imminent due kind: ``(after, until]``."""
    offset = mail.REMINDER_OFFSETS[kind]
    closer = [o for o in mail.REMINDER_OFFSETS.values() if o < offset]
    return now + max(closer, default=timedelta(0)), now + offset


def _claimed(kind: EmailKind, *, session, user, start_time) -> Exists:
    return Exists(
        SessionEmail.objects.filter(
            session=session, user=user, kind=kind, start_time=start_time, schedule_version=0
        )
    )


def next_due(now: datetime) -> tuple[uuid.UUID, EmailKind] | None:
    """The soonest session with someone still to remind of its current kind, and the kind."""
    for kind in KINDS:
        after, until = _window(kind, now)
        instructor_waits = (
            Q(instructor__is_active=True)
            & ~Q(instructor__email="")
            & ~_claimed(
                kind,
                session=OuterRef("pk"),
                user=OuterRef("instructor"),
                start_time=OuterRef("start_time"),
            )
        )
        member_waits = Exists(
            SessionRegistration.objects.filter(session=OuterRef("pk"), user__is_active=True)
            .exclude(user__email="")
            .exclude(
                _claimed(
                    kind,
                    session=OuterRef("session"),
                    user=OuterRef("user"),
                    start_time=OuterRef(OuterRef("start_time")),
                )
            )
        )
        pk = (
            TrainingSession.objects.filter(
                status=SessionStatus.SCHEDULED, start_time__gt=after, start_time__lte=until
            )
            .filter(instructor_waits | member_waits)
            .order_by("start_time", "pk")
            .values_list("pk", flat=True)
            .first()
        )
        if pk is not None:
            return pk, kind
    return None


def recipients(session: TrainingSession) -> list:
    """The instructor and every registered member who can receive email, by id.

    The same people ``next_due`` looks for (active, with an address), or a unit would find
    a session it can never finish.
    """
    users = {session.instructor.pk: session.instructor}
    for registration in session.registrations.select_related("user"):
        users.setdefault(registration.user_id, registration.user)
    return [user for _, user in sorted(users.items()) if user.is_active and user.email]


def send_next_reminder(now: datetime, *, mailer: mail.Mailer, report: JobReport) -> bool:
    """Unit: claim and send the reminders of one session. Returns whether one was found.

    The claim rows are inserted in one transaction (kind to send as ``sending``, less
    imminent due kinds as ``skipped``); the emails go out after it commits, only for the
    rows this call inserted.
    """
    found = next_due(now)
    if found is None:
        return False
    session_id, kind = found
    with transaction.atomic():
        session = TrainingSession.objects.select_related("instructor").get(pk=session_id)
        if session.status != SessionStatus.SCHEDULED or (
            mail.current_reminder(session.start_time, now) != kind
        ):
            return True  # moved, started or canceled since the query: the next unit sees it
        superseded = [
            other
            for other in KINDS
            if mail.REMINDER_OFFSETS[other] > mail.REMINDER_OFFSETS[kind]
            and now >= session.start_time - mail.REMINDER_OFFSETS[other]
        ]
        rows = []
        for user in recipients(session):
            rows.append(_claim_row(session, user, kind, EmailStatus.SENDING, attempts=1))
            rows += [
                _claim_row(
                    session,
                    user,
                    other,
                    EmailStatus.SKIPPED,
                    last_error="a more imminent reminder was due",
                )
                for other in superseded
            ]
        token = uuid.uuid4()
        inserted = mail.claim_new(rows, token)
        report.add_email(mail.SKIPPED, inserted.get(EmailStatus.SKIPPED, 0))
        if inserted.get(EmailStatus.SENDING):
            mail.deliver_after_commit(token, now=now, mailer=mailer, report=report)
    return True


def _claim_row(session, user, kind, status, **fields) -> SessionEmail:
    return SessionEmail(
        id=uuid.uuid4(),
        session_id=session.pk,
        user_id=user.pk,
        kind=kind,
        start_time=session.start_time,
        schedule_version=0,
        status=status,
        **fields,
    )


def new_report() -> JobReport:
    """An empty report of one reminders tick."""
    return mail.new_report("reminders")


def run(now: datetime | None = None, **limits) -> JobReport:
    """One tick: retry queued emails that are due, then send every due reminder."""
    now = now or timezone.now()
    report = new_report()
    mail.requeue_unhanded(now)
    mailer = mail.Mailer()
    try:
        run_units(lambda: mail.retry_due(now, mailer=mailer, report=report), report, **limits)
        if not report.stopped:
            run_units(
                lambda: send_next_reminder(now, mailer=mailer, report=report), report, **limits
            )
    finally:
        mailer.close()
    return report
