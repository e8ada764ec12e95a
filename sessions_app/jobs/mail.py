"""Sending the session emails exactly once: claim rows, then send, then record the outcome.

Every email has a ``SessionEmail`` row under a unique constraint. A worker *claims* rows
before sending: either by inserting them (``claim_new``: the unique constraint lets one
insert win) or by moving queued rows to ``sending`` with a conditional UPDATE that stamps
its own token (``claim_queued``). It sends only rows carrying its token, and only after
the claim committed. Each outcome is written back on the row: ``sent``; ``queued`` again
with the error and a later ``next_attempt_at`` when the send failed (the next reminders
tick retries it); ``failed`` once the attempts are spent; ``skipped`` when the email is
no longer true (the session moved, started or was canceled meanwhile).

Just before a row's email is handed to the mail server its ``sent_at`` is stamped, by a
conditional UPDATE that only the claimant can make. A row left in ``sending`` *with* that
stamp means the process died between the send and its outcome: it is never retried
automatically (the email may have gone out), and stays visible in the admin. A row left
in ``sending`` *without* it surely never went out (the worker died, or lost its database,
between the claim and the send): ``requeue_unhanded`` queues it again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from sessions_app.jobs.base import JobReport, backoff
from sessions_app.jobs.models import EmailKind, EmailStatus, SessionEmail
from sessions_app.models import RoomStatus, SessionStatus

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_BASE = timedelta(minutes=5)
RETRY_CAP = timedelta(hours=1)
# Queued rows one retry unit claims at a time.
RETRY_BATCH = 100
# A claimed row not yet handed to the mail server this long after its claim was given up
# by its worker: longer than django-q2 lets a task run (Q_CLUSTER["timeout"], 120 s), and
# should a slower worker still come to it, the stamp's condition stops it from sending.
UNHANDED_AFTER = timedelta(minutes=3)

# Report labels shared by every job that sends email.
SENT, SKIPPED, RETRYING, FAILED = "sent", "skipped", "retrying", "failed"

REMINDER_OFFSETS = {
    EmailKind.REMINDER_10M: timedelta(minutes=10),
    EmailKind.REMINDER_1H: timedelta(hours=1),
    EmailKind.REMINDER_24H: timedelta(hours=24),
}


class Mailer:
    """One connection to the mail server for a whole batch, opened at the first message.

    Each message is sent on its own (``send_messages([message])``) so that its outcome is
    known; a failed send closes the connection, and the next message opens a fresh one.
    """

    def __init__(self):
        self.connection = get_connection()
        self._open = False

    def send(self, message) -> None:
        if not self._open:
            self.connection.open()
            self._open = True
        try:
            sent = self.connection.send_messages([message])
        except Exception:
            self.close()
            raise
        if not sent:
            raise RuntimeError("The mail backend accepted no message.")

    def close(self) -> None:
        if self._open:
            self._open = False
            try:
                self.connection.close()
            except Exception:  # closing a broken connection: nothing left to lose
                logger.warning("Closing the mail connection failed", exc_info=True)


def new_report(name: str, *labels: str) -> JobReport:
    """A report that also counts email outcomes: its own counts when ``labels`` is empty
    (the reminders), else shown as "emails sent" and so on when not zero."""
    outcomes = (SENT, SKIPPED, RETRYING, FAILED)
    if not labels:
        return JobReport(name, outcomes)
    return JobReport(
        name,
        labels,
        quiet_labels=tuple(f"emails {outcome}" for outcome in outcomes),
        email_prefix="emails ",
    )


def claim_new(rows: Iterable[SessionEmail], token: uuid.UUID) -> dict[str, int]:
    """Insert claim rows; those already there are left alone. Returns {status: inserted}.

    Rows to send must carry ``status=sending`` and ``token``; rows recorded as skipped carry
    the token too, so that the count says which of them this call inserted. Inserted in a
    fixed order so that two workers inserting the same rows on PostgreSQL wait for each
    other instead of deadlocking.
    """
    rows = sorted(rows, key=lambda r: (str(r.session_id), r.user_id, r.kind))
    for row in rows:
        row.claim_token = token
    SessionEmail.objects.bulk_create(rows, ignore_conflicts=True)
    return dict(
        SessionEmail.objects.filter(claim_token=token)
        .values_list("status")
        .annotate(count=Count("pk"))
        .values_list("status", "count")
    )


def claim_queued(now: datetime, *, ids: Iterable | None = None, limit: int = RETRY_BATCH):
    """Move queued rows that are due to ``sending`` under a new token; returns the token.

    ``ids`` restricts the claim to those rows (a notice's own delivery task). Returns None
    when nothing was claimed. Safe on two workers: a row is claimed by one UPDATE only.
    """
    due = SessionEmail.objects.filter(status=EmailStatus.QUEUED, next_attempt_at__lte=now)
    if ids is not None:
        due = due.filter(pk__in=list(ids))
    pks = list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])
    if not pks:
        return None
    token = uuid.uuid4()
    claimed = due.filter(pk__in=pks).update(
        status=EmailStatus.SENDING,
        claim_token=token,
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    return token if claimed else None


def current_reminder(start: datetime, now: datetime) -> EmailKind | None:
    """The most imminent reminder kind due at ``now`` for a session starting at ``start``.

    A kind with offset ``d`` is due while ``start - d <= now < start``; the most imminent is
    the due kind with the smallest offset. None before the 24-hour mark and from the start.
    """
    if now >= start:
        return None
    for kind, offset in sorted(REMINDER_OFFSETS.items(), key=lambda item: item[1]):
        if now >= start - offset:
            return kind
    return None


def why_not_send(email: SessionEmail, now: datetime) -> str:
    """Why the email is no longer true at ``now``; empty when it should go out."""
    session = email.session
    kind = EmailKind(email.kind)
    if kind == EmailKind.CANCELED:
        return "" if session.status == SessionStatus.CANCELED else "the session is not canceled"
    if session.status != SessionStatus.SCHEDULED:
        return f"the session is {session.status}"
    if kind in REMINDER_OFFSETS:
        if session.start_time != email.start_time:
            return "the session moved; its reminders are sent for the new time"
        if current_reminder(session.start_time, now) != kind:
            return "no longer the most imminent reminder"
        return ""
    if kind == EmailKind.RESCHEDULED:
        if session.schedule_version != email.schedule_version:
            return "the session moved again; the newer notice tells the new time"
        return "" if now < session.start_time else "the session's start has passed"
    if kind == EmailKind.ROOM_FAILED:
        if session.room_status != RoomStatus.FAILED:
            return "the room is no longer failed"
        return "" if now < session.end_time else "the session is over"
    return f"unknown kind {kind}"


def deliver(token: uuid.UUID, *, now: datetime, mailer: Mailer, report: JobReport) -> None:
    """Send the rows claimed under ``token`` and record each outcome on its row.

    Call only after the claim committed. A failed send is logged and retried later,
    up to ``MAX_ATTEMPTS``; it never stops the rest of the batch.
    """
    from sessions_app import emails  # the templates need the app registry; imported late

    rows = (
        SessionEmail.objects.filter(claim_token=token, status=EmailStatus.SENDING)
        .select_related("session__instructor", "session__event", "user")
        .order_by("session_id", "user_id", "kind")
    )
    for email in rows:
        reason = why_not_send(email, now)
        if reason:
            _record(email, report, SKIPPED, status=EmailStatus.SKIPPED, last_error=reason)
            continue
        message = emails.build_message(email, now=now)
        if not _stamp_handed(email, now):
            continue  # queued again meanwhile (see requeue_unhanded): no longer ours
        try:
            mailer.send(message)
        except Exception as exc:
            # The mail server refusing or unreachable (OSError, smtplib's errors included)
            # is expected now and then; anything else is a bug worth its traceback.
            logger.log(
                logging.WARNING if isinstance(exc, OSError) else logging.ERROR,
                "Sending %s to user %s about session %s failed (attempt %s): %r",
                email.kind,
                email.user_id,
                email.session_id,
                email.attempts,
                exc,
                exc_info=not isinstance(exc, OSError),
            )
            error = f"{type(exc).__name__}: {exc}"[:2000]
            if email.attempts >= MAX_ATTEMPTS:
                _record(
                    email, report, FAILED, status=EmailStatus.FAILED, last_error=error, sent_at=None
                )
            else:
                wait = backoff(email.attempts, base=RETRY_BASE, cap=RETRY_CAP)
                _record(
                    email,
                    report,
                    RETRYING,
                    status=EmailStatus.QUEUED,
                    last_error=error,
                    next_attempt_at=now + wait,
                    sent_at=None,
                )
            continue
        _record(email, report, SENT, status=EmailStatus.SENT, sent_at=now, last_error="")


def _stamp_handed(email: SessionEmail, now: datetime) -> bool:
    """Stamp ``sent_at`` before the send; False when the row is no longer this claim's."""
    return bool(
        SessionEmail.objects.filter(
            pk=email.pk,
            claim_token=email.claim_token,
            status=EmailStatus.SENDING,
            sent_at__isnull=True,
        ).update(sent_at=now)
    )


def _record(email: SessionEmail, report: JobReport, label: str, **fields) -> None:
    # Conditional on the claim: a row is only ever finished by the worker that claimed it.
    SessionEmail.objects.filter(
        pk=email.pk, claim_token=email.claim_token, status=EmailStatus.SENDING
    ).update(updated_at=timezone.now(), **fields)
    report.add_email(label)


def requeue_unhanded(now: datetime) -> int:
    """Queue again the rows claimed ``UNHANDED_AFTER`` ago or more and never handed to the
    mail server (no ``sent_at``); the retry unit then sends them. Returns how many."""
    return SessionEmail.objects.filter(
        status=EmailStatus.SENDING,
        sent_at__isnull=True,
        updated_at__lte=now - UNHANDED_AFTER,
    ).update(status=EmailStatus.QUEUED, claim_token=None, next_attempt_at=now, updated_at=now)


def deliver_after_commit(token, *, now: datetime, mailer: Mailer, report: JobReport) -> None:
    """Register ``deliver`` to run once the current transaction (holding the claim) commits."""
    transaction.on_commit(lambda: deliver(token, now=now, mailer=mailer, report=report))


def retry_due(now: datetime, *, mailer: Mailer, report: JobReport) -> bool:
    """Unit: claim queued emails that are due (new notices and retries) and send them.

    Returns whether any were claimed.
    """
    with transaction.atomic():
        token = claim_queued(now)
        if token is None:
            return False
        deliver_after_commit(token, now=now, mailer=mailer, report=report)
    return True
