"""Ensure rooms: sessions starting within two hours get their video room (SPEC §6).

Due: ``scheduled`` sessions with room ``pending`` that start within the next two hours
and have not ended, whose ``room_next_attempt_at`` is empty or past. A unit claims one
with a conditional UPDATE (counting the attempt and setting a lease as the next attempt
time, so a second worker passes it by), then asks the provider for the room through
``services.rooms.ensure_room``, outside any transaction. A transient provider error
(``RoomProviderUnavailable``) schedules the next attempt with doubling back-off, or the
provider's ``Retry-After`` when that is longer; a refusal (``RoomProviderRejected``:
repeating it unchanged cannot help) or the last allowed attempt marks the room
``failed``, and that one UPDATE's winner emails the instructor, once.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from sessions_app.jobs import mail
from sessions_app.jobs.base import JobReport, backoff, run_units
from sessions_app.jobs.models import EmailKind, EmailStatus, SessionEmail
from sessions_app.models import (
    MAX_DURATION_MINUTES,
    RoomStatus,
    SessionStatus,
    TrainingSession,
)
from sessions_app.rooms import RoomProviderRejected, RoomProviderUnavailable
from sessions_app.services import rooms as room_service
from sessions_app.services.errors import RoomNotReady

logger = logging.getLogger(__name__)

WINDOW = timedelta(hours=2)
MAX_ATTEMPTS = 5
RETRY_BASE = timedelta(minutes=5)
RETRY_CAP = timedelta(minutes=30)
# How long a claimed attempt keeps other workers away: longer than a unit can run in a
# task (django-q2 kills one at Q_CLUSTER["timeout"], 120 s), shorter than the 5-minute
# tick, so an attempt cut short (the worker died, the database went away) is taken up
# again by the next tick. Two attempts overlapping anyway still record one room.
LEASE = timedelta(minutes=4)

CREATED, RETRYING, ROOM_FAILED = "created", "retrying", "failed"


def due(now: datetime):
    """Sessions whose room the job should try to create at ``now``.

    The lower bound on ``start_time`` (no session lasts longer) keeps the scan on the
    (status, room_status, start_time) index to the sessions around now.
    """
    return TrainingSession.objects.filter(
        status=SessionStatus.SCHEDULED,
        room_status=RoomStatus.PENDING,
        start_time__gt=now - timedelta(minutes=MAX_DURATION_MINUTES),
        start_time__lte=now + WINDOW,
        end_time__gt=now,
    ).filter(Q(room_next_attempt_at__isnull=True) | Q(room_next_attempt_at__lte=now))


def ensure_next_room(now: datetime, *, mailer: mail.Mailer, report: JobReport) -> bool:
    """Unit: try to create the room of the next due session. Returns whether one was due."""
    candidate = due(now).order_by("start_time", "pk").values("pk", "room_attempts").first()
    if candidate is None:
        return False
    attempt = candidate["room_attempts"] + 1
    claimed = (
        due(now)
        .filter(pk=candidate["pk"], room_attempts=candidate["room_attempts"])
        .update(room_attempts=attempt, room_next_attempt_at=now + LEASE)
    )
    if not claimed:
        return True  # another worker took it; the next unit looks again
    session = TrainingSession.objects.select_related("instructor").get(pk=candidate["pk"])
    if session.room_status != RoomStatus.PENDING:
        return True  # created meanwhile by a start, a join or the creation task
    try:
        room_service.ensure_room(session)
    except Exception as exc:
        _attempt_failed(session, attempt, exc, now, mailer=mailer, report=report)
        return True
    TrainingSession.objects.filter(pk=session.pk, room_status=RoomStatus.READY).update(
        room_next_attempt_at=None
    )
    report.add(CREATED)
    return True


def _provider_error(exc: Exception) -> Exception:
    # ensure_room raises RoomNotReady *from* the provider's error.
    if isinstance(exc, RoomNotReady) and exc.__cause__ is not None:
        return exc.__cause__
    return exc


def _attempt_failed(session, attempt: int, exc: Exception, now, *, mailer, report) -> None:
    error = _provider_error(exc)
    if not isinstance(error, (RoomProviderUnavailable, RoomProviderRejected, RoomNotReady)):
        logger.exception("Creating the room of session %s failed unexpectedly", session.pk)
    still_ours = TrainingSession.objects.filter(
        pk=session.pk, room_status=RoomStatus.PENDING, room_attempts=attempt
    )
    permanent = isinstance(error, RoomProviderRejected)
    if permanent or attempt >= MAX_ATTEMPTS:
        logger.warning(
            "Giving up on the room of session %s after %s attempt(s): %r",
            session.pk,
            attempt,
            error,
        )
        with transaction.atomic():
            if still_ours.update(
                room_status=RoomStatus.FAILED, room_next_attempt_at=None, updated_at=now
            ):
                report.add(ROOM_FAILED)
                _tell_instructor(session, now, mailer=mailer, report=report)
        return
    wait = backoff(attempt, base=RETRY_BASE, cap=RETRY_CAP)
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        wait = max(wait, timedelta(seconds=retry_after))
    logger.info(
        "Room of session %s not created (attempt %s), next try in %s: %r",
        session.pk,
        attempt,
        wait,
        error,
    )
    if still_ours.update(room_next_attempt_at=now + wait):
        report.add(RETRYING)


def _tell_instructor(session, now, *, mailer, report) -> None:
    """Claim the instructor's "no room" email; it goes out once the failure commits."""
    instructor = session.instructor
    if not (instructor.is_active and instructor.email):
        logger.warning("Session %s has no room and its instructor no email address", session.pk)
        return
    token = uuid.uuid4()
    row = SessionEmail(
        id=uuid.uuid4(),
        session_id=session.pk,
        user_id=instructor.pk,
        kind=EmailKind.ROOM_FAILED,
        start_time=session.start_time,
        status=EmailStatus.SENDING,
        attempts=1,
    )
    if mail.claim_new([row], token).get(EmailStatus.SENDING):
        mail.deliver_after_commit(token, now=now, mailer=mailer, report=report)


def new_report() -> JobReport:
    """An empty report of one ensure_rooms tick."""
    return mail.new_report("ensure_rooms", CREATED, RETRYING, ROOM_FAILED)


def run(now: datetime | None = None, **limits) -> JobReport:
    """One tick: try every due room, within the tick's cap and time budget."""
    now = now or timezone.now()
    report = new_report()
    mailer = mail.Mailer()
    try:
        run_units(lambda: ensure_next_room(now, mailer=mailer, report=report), report, **limits)
    finally:
        mailer.close()
    return report
