"""The emails themselves: subject, text and HTML bodies, zones, link and calendar file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from sessions_app import emails
from sessions_app.jobs import reminders
from sessions_app.jobs.models import EmailKind, EmailStatus, SessionEmail
from sessions_app.models import RoomStatus, SessionStatus
from tests.conftest import NOW

START = datetime(2026, 6, 3, 16, 0, tzinfo=UTC)  # 18:00 in Berlin, 09:00 in Los Angeles


@pytest.fixture
def session(make_session, event, register, member):
    session = make_session(
        title='Kata & "Bunkai" <advanced>', start_time=START, duration_minutes=90, event=event
    )
    register(session, member)
    return session


@pytest.fixture
def reminder_to_mia(tick, session, mailoutbox):
    tick(reminders, START - timedelta(minutes=10))
    return next(message for message in mailoutbox if message.to == ["mia@example.com"])


def parse_ics(message):
    ((name, content, mimetype),) = message.attachments
    assert mimetype == "text/calendar"
    assert name.endswith(".ics")
    (event,) = Calendar.from_ical(content).walk("VEVENT")
    return event


def test_a_reminder_has_a_one_line_subject_with_the_time_left(reminder_to_mia):
    assert reminder_to_mia.subject == 'Reminder: Kata & "Bunkai" <advanced> starts in 10 minutes'
    assert reminder_to_mia.from_email == "WWMAA Live <live@wwmaa.example>"
    assert reminder_to_mia.extra_headers["Auto-Submitted"] == "auto-generated"


def test_the_text_body_shows_the_time_in_the_members_zone_and_the_events(reminder_to_mia, session):
    body = reminder_to_mia.body
    assert body.startswith("Hello mia,")
    assert '“Kata & "Bunkai" <advanced>” with Kenji Sato starts in 10 minutes.' in body
    assert "When: Wednesday 3 June 2026, 18:00 (Europe/Berlin)" in body
    assert "Event time: Wednesday 3 June 2026, 09:00 (America/Los_Angeles)" in body
    assert "Length: 90 minutes" in body
    assert "Event: Winter camp" in body
    assert f"http://testserver/sessions/{session.pk}/" in body
    assert "&amp;" not in body


def test_the_html_body_escapes_the_title_and_marks_up_the_time(reminder_to_mia, session):
    ((html, mimetype),) = reminder_to_mia.alternatives
    assert mimetype == "text/html"
    assert "Kata &amp; &quot;Bunkai&quot; &lt;advanced&gt;" in html
    assert "<advanced>" not in html
    assert '<time datetime="2026-06-03T18:00:00+02:00">Wednesday 3 June 2026, 18:00</time>' in html
    assert "(Europe/Berlin), your time" in html
    assert "Wednesday 3 June 2026, 09:00 (America/Los_Angeles), the event's time" in html
    assert f'href="http://testserver/sessions/{session.pk}/"' in html


def test_the_calendar_file_parses_back_to_the_session(reminder_to_mia, session):
    event = parse_ics(reminder_to_mia)

    assert event.decoded("dtstart") == START
    assert event.decoded("dtend") == START + timedelta(minutes=90)
    assert str(event["summary"]) == 'Kata & "Bunkai" <advanced>'
    assert str(event["url"]) == f"http://testserver/sessions/{session.pk}/"
    assert str(event["status"]) == "CONFIRMED"
    assert str(event["uid"]) == f"session-{session.pk}@testserver"


def test_the_instructor_is_reminded_as_the_teacher_in_their_own_zone(tick, session, mailoutbox):
    tick(reminders, START - timedelta(hours=1))

    to_kenji = next(m for m in mailoutbox if m.to == ["kenji@example.com"])
    assert to_kenji.subject.endswith("starts in 1 hour")
    assert "You teach “Kata & " in to_kenji.body
    assert "open the room from 30 minutes before" in to_kenji.body
    assert "When: Wednesday 3 June 2026, 09:00 (America/Los_Angeles)" in to_kenji.body
    # The event is in the instructor's own zone: no second time.
    assert "Event time:" not in to_kenji.body


def test_a_session_without_an_event_shows_the_sites_zone_as_the_events(
    tick, make_session, register, member, mailoutbox
):
    session = make_session(start_time=START)
    register(session, member)

    tick(reminders, START - timedelta(hours=24))

    to_mia = next(m for m in mailoutbox if m.to == ["mia@example.com"])
    assert "Event time: Wednesday 3 June 2026, 09:00 (America/Los_Angeles)" in to_mia.body
    assert "Event:" not in to_mia.body.replace("Event time:", "")


def _email(session, user, kind, **fields) -> SessionEmail:
    return SessionEmail.objects.create(
        session=session,
        user=user,
        kind=kind,
        start_time=session.start_time,
        status=EmailStatus.SENDING,
        **fields,
    )


def test_the_canceled_notice_says_so_and_its_calendar_file_cancels(session, member):
    session.status = SessionStatus.CANCELED
    session.save()
    message = emails.build_message(_email(session, member, EmailKind.CANCELED), now=NOW)

    assert message.subject == 'Canceled: Kata & "Bunkai" <advanced>'
    assert "planned for Wednesday 3 June 2026, 18:00 (Europe/Berlin), has been canceled" in (
        message.body
    )
    assert "has been canceled" in message.alternatives[0][0]
    assert str(parse_ics(message)["status"]) == "CANCELLED"


def test_the_moved_notice_shows_the_old_and_the_new_time(session, member):
    old = START - timedelta(days=1)
    message = emails.build_message(
        _email(session, member, EmailKind.RESCHEDULED, previous_start_time=old), now=NOW
    )

    assert message.subject == 'New time: Kata & "Bunkai" <advanced>'
    assert (
        "has moved from Tuesday 2 June 2026, 18:00 (Europe/Berlin) to "
        "Wednesday 3 June 2026, 18:00 (Europe/Berlin)."
    ) in message.body
    html = message.alternatives[0][0]
    assert "<del><time" in html and "Tuesday 2 June 2026, 18:00" in html
    assert parse_ics(message).decoded("dtstart") == START


def test_the_room_failed_email_tells_the_instructor_what_to_do(session, instructor):
    session.room_status = RoomStatus.FAILED
    session.room_attempts = 5
    session.save()
    message = emails.build_message(_email(session, instructor, EmailKind.ROOM_FAILED), now=NOW)

    assert message.to == ["kenji@example.com"]
    assert message.subject == 'No video room yet: Kata & "Bunkai" <advanced>'
    assert "after 5 attempts" in message.body
    assert "Starting the session from its page tries again" in message.body
    assert "Wednesday 3 June 2026, 09:00 (America/Los_Angeles)" in message.body
    assert parse_ics(message).decoded("dtstart") == START


@pytest.mark.parametrize(
    ("left", "text"),
    [
        (timedelta(minutes=10), "10 minutes"),
        (timedelta(seconds=30), "1 minute"),
        (timedelta(minutes=59, seconds=1), "1 hour"),
        (timedelta(hours=23, minutes=56), "24 hours"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(days=3), "3 days"),
    ],
)
def test_the_time_left_reads_like_the_reminders_kind(left, text):
    assert emails.starts_in(left) == text
