"""A training session as an iCalendar event (RFC 5545), for downloads and email attachments.

Calendars recognise an entry by its UID and keep the copy with the highest SEQUENCE, so the
UID never changes for a session and SEQUENCE grows with each reschedule (and once more when
the session is canceled): importing a newer file moves or cancels the entry already there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event

from sessions_app.models import SessionStatus, TrainingSession

PRODUCT_ID = "-//WWMAA//WWMAA Live//EN"


def session_page_url(session: TrainingSession) -> str:
    """The absolute address of the session's page on this site."""
    return f"{settings.SITE_URL}/sessions/{session.pk}/"


def session_uid(session: TrainingSession) -> str:
    """Stable per session, and unique across sites: the id at the site's host name."""
    host = urlsplit(settings.SITE_URL).hostname or "wwmaa.local"
    return f"session-{session.pk}@{host}"


def session_sequence(session: TrainingSession) -> int:
    """Reschedules so far, plus one for a cancellation (a change every calendar must take)."""
    return session.schedule_version + (1 if session.status == SessionStatus.CANCELED else 0)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def build_session_ics(session: TrainingSession, *, now: datetime | None = None) -> bytes:
    """One VCALENDAR holding the session as a VEVENT, encoded as the file's bytes.

    Times are in UTC, so no VTIMEZONE is needed and every calendar shows them in its own
    zone. Reads ``session.instructor`` and ``session.event``.
    """
    now = now or timezone.now()
    url = session_page_url(session)

    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")

    event = Event()
    event.add("uid", session_uid(session))
    event.add("dtstamp", _utc(now))
    event.add("dtstart", _utc(session.start_time))
    event.add("dtend", _utc(session.end_time))
    event.add("summary", session.title)
    description = [f"Instructor: {session.instructor.display_name}"]
    if session.description:
        description.insert(0, session.description)
    description.append(f"Join from the session page: {url}")
    event.add("description", "\n\n".join(description))
    event.add("url", url)
    event.add("location", (session.event.location if session.event else "") or "Online")
    event.add("status", "CANCELLED" if session.status == SessionStatus.CANCELED else "CONFIRMED")
    event.add("sequence", session_sequence(session))
    event.add("created", _utc(session.created_at))
    event.add("last-modified", _utc(session.updated_at))
    if session.tags:
        event.add("categories", list(session.tags))
    calendar.add_component(event)
    return calendar.to_ical()
