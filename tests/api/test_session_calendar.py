"""``GET /api/training/sessions/{id}/calendar.ics``, read back with ``icalendar``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from sessions_app.calendar import build_session_ics
from tests.api.conftest import client_for, url
from tests.conftest import NOW


def vevent(response):
    assert response.status_code == 200, response.content
    calendar = Calendar.from_ical(response.content)
    (event,) = calendar.walk("VEVENT")
    return event


@pytest.fixture
def session(make_session, event):
    return make_session(
        title="Kata fundamentals",
        description="Heian shodan.",
        start_time=NOW + timedelta(days=1),
        duration_minutes=90,
        event=event,
        is_public=True,
    )


def test_it_is_a_text_calendar_file(frozen, anon, session):
    response = anon.get(url(session, "/calendar.ics"))

    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="session-{session.pk}.ics"'
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["VERSION"]) == "2.0"


def test_the_event_carries_the_sessions_times_in_utc_and_its_words(frozen, member, session):
    event = vevent(client_for(member).get(url(session, "/calendar.ics")))

    assert event.decoded("DTSTART") == datetime(2026, 6, 2, 16, 0, tzinfo=UTC)
    assert event.decoded("DTEND") == datetime(2026, 6, 2, 17, 30, tzinfo=UTC)
    assert event["DTSTART"].to_ical() == b"20260602T160000Z"
    assert str(event["SUMMARY"]) == "Kata fundamentals"
    assert "Heian shodan." in str(event["DESCRIPTION"])
    assert "Kenji Sato" in str(event["DESCRIPTION"])
    assert str(event["URL"]) == f"http://testserver/sessions/{session.pk}/"
    assert str(event["LOCATION"]) == "Online"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("SEQUENCE") == 0


def test_the_uid_is_stable_across_downloads_and_changes(frozen, instructor, session):
    client = client_for(instructor)
    before = vevent(client.get(url(session, "/calendar.ics")))["UID"]

    client.patch(url(session), {"start_time": "2026-06-03T10:00:00Z"}, format="json")
    after = vevent(client.get(url(session, "/calendar.ics")))["UID"]

    assert before == after == f"session-{session.pk}@testserver"


def test_each_reschedule_bumps_the_sequence_and_moves_the_times(frozen, instructor, session):
    client = client_for(instructor)

    client.patch(url(session), {"start_time": "2026-06-03T10:00:00Z"}, format="json")
    client.patch(url(session), {"duration_minutes": 45}, format="json")
    client.patch(url(session), {"title": "Renamed"}, format="json")
    event = vevent(client.get(url(session, "/calendar.ics")))

    assert event.decoded("SEQUENCE") == 2
    assert event.decoded("DTSTART") == datetime(2026, 6, 3, 10, 0, tzinfo=UTC)
    assert event.decoded("DTEND") == datetime(2026, 6, 3, 10, 45, tzinfo=UTC)


def test_a_canceled_session_is_cancelled_with_a_higher_sequence(frozen, instructor, session):
    client = client_for(instructor)
    client.delete(url(session))

    event = vevent(client.get(url(session, "/calendar.ics")))

    assert str(event["STATUS"]) == "CANCELLED"
    assert event.decoded("SEQUENCE") == 1


def test_accept_text_calendar_is_understood(frozen, anon, session):
    response = anon.get(url(session, "/calendar.ics"), HTTP_ACCEPT="text/calendar")

    assert response.status_code == 200


def test_a_hidden_session_has_no_calendar_for_those_who_may_not_see_it(frozen, anon, make_session):
    response = anon.get(url(make_session(), "/calendar.ics"))

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_the_builder_names_the_events_location_when_there_is_one(frozen, session, event):
    event.location = "Dojo Nord, Hamburg"
    event.save()
    session.refresh_from_db()

    parsed = Calendar.from_ical(build_session_ics(session))

    assert str(parsed.walk("VEVENT")[0]["LOCATION"]) == "Dojo Nord, Hamburg"
