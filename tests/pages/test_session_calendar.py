"""``/sessions/<id>/calendar.ics``: "add to calendar" on every card."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def test_it_downloads_the_session_as_a_calendar_entry(client, event, make_session):
    session = make_session(event=event, is_public=True)

    response = client.get(f"/sessions/{session.pk}/calendar.ics")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert f'filename="session-{session.pk}.ics"' in response["Content-Disposition"]
    body = response.content.decode()
    assert "SUMMARY:Kata fundamentals" in body
    assert "DTSTART:20260601T180000Z" in body


@pytest.mark.parametrize("who", ["anonymous", "public_user"])
def test_a_session_that_may_not_be_seen_is_not_found(logged_in, who, make_session):
    session = make_session(is_public=False)

    assert logged_in(who).get(f"/sessions/{session.pk}/calendar.ics").status_code == 404


def test_a_member_gets_a_members_session(logged_in, make_session):
    session = make_session(is_public=False)

    assert logged_in("member").get(f"/sessions/{session.pk}/calendar.ics").status_code == 200
