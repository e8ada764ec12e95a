"""Messages to people about changes to a session they registered for.

Called after the change has committed. Plain-text for now; the templated HTML emails with
calendar attachments are built with the background jobs.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import get_connection, send_mail
from django.utils import timezone
from django.utils.formats import date_format

from sessions_app.models import TrainingSession

logger = logging.getLogger(__name__)


def _registered_users(session: TrainingSession):
    return [r.user for r in session.registrations.select_related("user") if r.user.email]


def _local(dt: datetime, user) -> str:
    local = timezone.localtime(dt, user.zoneinfo)
    return f"{date_format(local, 'l j F Y, H:i')} ({user.timezone})"


def _send_each(session: TrainingSession, subject: str, body_for) -> int:
    users = _registered_users(session)
    if not users:
        return 0
    sent = 0
    with get_connection() as connection:
        for user in users:
            try:
                sent += send_mail(
                    subject,
                    body_for(user),
                    settings.DEFAULT_FROM_EMAIL,
                    [user.email],
                    connection=connection,
                )
            except OSError:
                logger.exception("Could not email %s about session %s", user.pk, session.pk)
    return sent


def session_canceled(session_id) -> int:
    """Tell registered members the session was canceled. Returns how many were sent."""
    session = TrainingSession.objects.select_related("instructor").get(pk=session_id)
    return _send_each(
        session,
        f"Canceled: {session.title}",
        lambda user: (
            f"Hello {user.display_name},\n\n"
            f"“{session.title}” with {session.instructor.display_name}, planned for "
            f"{_local(session.start_time, user)}, has been canceled.\n"
        ),
    )


def session_rescheduled(session_id, old_start: datetime) -> int:
    """Tell registered members the session moved. Returns how many were sent."""
    session = TrainingSession.objects.select_related("instructor").get(pk=session_id)
    return _send_each(
        session,
        f"New time: {session.title}",
        lambda user: (
            f"Hello {user.display_name},\n\n"
            f"“{session.title}” with {session.instructor.display_name} has moved from "
            f"{_local(old_start, user)} to {_local(session.start_time, user)}.\n\n"
            f"{settings.SITE_URL}/sessions/{session.pk}/\n"
        ),
    )
