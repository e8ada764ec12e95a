"""The emails about a session: templated HTML and plain text, with an .ics attachment.

One builder for every kind. Templates live in ``templates/emails/<name>.{txt,html}`` and
``<name>_subject.txt``; each shows the session's time in the recipient's zone (and in the
event's, when that differs), with ``{% timezone %}`` at the edge as everywhere else. The
attachment is the same iCalendar file as the API's calendar endpoint.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.text import slugify

from sessions_app.calendar import build_session_ics, session_page_url
from sessions_app.jobs.models import EmailKind, SessionEmail

TEMPLATES = {
    EmailKind.REMINDER_24H: "reminder",
    EmailKind.REMINDER_1H: "reminder",
    EmailKind.REMINDER_10M: "reminder",
    EmailKind.CANCELED: "canceled",
    EmailKind.RESCHEDULED: "rescheduled",
    EmailKind.ROOM_FAILED: "room_failed",
}


def starts_in(delta: timedelta) -> str:
    """How long until the start, as a reminder says it: "10 minutes", "24 hours", "3 days".

    Rounded so that a reminder sent by a tick a few minutes after its offset still reads
    like its kind ("24 hours", not "23 hours, 57 minutes").
    """
    minutes = max(1, math.ceil(delta.total_seconds() / 60))
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    if minutes < 48 * 60:
        hours = round(minutes / 60)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    days = round(minutes / (24 * 60))
    return f"{days} days"


def _context(email: SessionEmail, now: datetime) -> dict:
    session = email.session
    user = email.user
    event = session.event
    recipient_zone = user.zoneinfo.key  # the site's zone if the user's is unreadable
    event_zone = event.zoneinfo.key if event is not None else settings.TIME_ZONE
    return {
        "email": email,
        "kind": email.kind,
        "session": session,
        "event": event,
        "recipient": user,
        "instructor": session.instructor,
        "is_instructor": user.pk == session.instructor_id,
        "recipient_zone": recipient_zone,
        "event_zone": event_zone,
        "show_event_zone": event_zone != recipient_zone,
        "previous_start_time": email.previous_start_time,
        "starts_in": starts_in(session.start_time - now) if session.start_time > now else "",
        "session_url": session_page_url(session),
        "site_url": settings.SITE_URL,
    }


def build_message(email: SessionEmail, *, now: datetime) -> EmailMultiAlternatives:
    """The message for one claim row, addressed to its user.

    Reads ``email.session`` (with its instructor and event) and ``email.user``; select
    them together to keep a batch to one query.
    """
    name = TEMPLATES[EmailKind(email.kind)]
    context = _context(email, now)
    # Dates and their names in the site's language, whatever the worker process has active.
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"emails/{name}_subject.txt", context)
        text = render_to_string(f"emails/{name}.txt", context)
        html = render_to_string(f"emails/{name}.html", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),  # one line, whatever the template's whitespace
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.user.email],
        # RFC 3834: an automatic message; out-of-office replies should not answer it.
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(html, "text/html")
    message.attach(
        f"{slugify(email.session.title) or 'session'}.ics",
        build_session_ics(email.session, now=now),
        "text/calendar",
    )
    return message
