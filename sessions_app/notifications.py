"""Telling registered members that their session was canceled or moved.

The lifecycle calls these once its change has committed. They only write one queued
``SessionEmail`` row per registered member (fast, and durable in the database) and ask a
worker to send them (``sessions_app.tasks.deliver_emails``), so a slow mail server never
slows the person who made the change. If the worker cannot be asked, or a send fails, the
rows stay queued and the next reminders tick sends them.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from sessions_app.jobs.models import EmailKind, EmailStatus, SessionEmail
from sessions_app.models import TrainingSession
from sessions_app.queueing import enqueue

logger = logging.getLogger(__name__)

DELIVER_TASK = "sessions_app.tasks.deliver_emails"


def session_canceled(session_id) -> int:
    """Queue the cancellation notice for every registered member; returns how many."""
    return _notify_registered(session_id, EmailKind.CANCELED)


def session_rescheduled(session_id, old_start: datetime) -> int:
    """Queue the "new time" notice for every registered member; returns how many."""
    return _notify_registered(session_id, EmailKind.RESCHEDULED, previous_start_time=old_start)


def _notify_registered(session_id, kind: EmailKind, previous_start_time=None) -> int:
    now = timezone.now()
    session = TrainingSession.objects.get(pk=session_id)
    users = (
        session.registrations.filter(user__is_active=True)
        .exclude(user__email="")
        .values_list("user_id", flat=True)
    )
    rows = [
        SessionEmail(
            id=uuid.uuid4(),
            session_id=session.pk,
            user_id=user_id,
            kind=kind,
            # The notice is about the session as it is now: a later move makes another key.
            start_time=session.start_time,
            schedule_version=session.schedule_version,
            previous_start_time=previous_start_time,
            status=EmailStatus.QUEUED,
            next_attempt_at=now,
        )
        for user_id in sorted(users)
    ]
    if not rows:
        return 0
    with transaction.atomic():
        SessionEmail.objects.bulk_create(rows, ignore_conflicts=True)
        queued = list(
            SessionEmail.objects.filter(pk__in=[row.pk for row in rows]).values_list(
                "pk", flat=True
            )
        )
    if queued:
        try:
            enqueue(DELIVER_TASK, [str(pk) for pk in queued], task_name=f"{kind} {session.pk}")
        except Exception:
            # The rows are committed: the next reminders tick sends them.
            logger.exception("Could not queue the %s notices of session %s", kind, session.pk)
    return len(queued)
