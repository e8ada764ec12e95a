"""``POST /sessions/<id>/rsvp/`` and ``…/rsvp/withdraw/``: the RSVP button of the cards."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from sessions_app.models import SessionRegistration, SessionStatus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def messages_of(response) -> list[str]:
    return [m.message for m in get_messages(response.wsgi_request)]


def rsvp(session) -> str:
    return f"/sessions/{session.pk}/rsvp/"


def withdraw(session) -> str:
    return f"/sessions/{session.pk}/rsvp/withdraw/"


def test_a_member_registers_and_goes_back_where_they_were(logged_in, event, make_session, member):
    session = make_session(event=event)

    response = logged_in("member").post(rsvp(session), {"next": f"/events/{event.pk}/"})

    assert response.status_code == 302
    assert response["Location"] == f"/events/{event.pk}/"
    assert SessionRegistration.objects.filter(session=session, user=member).exists()
    assert messages_of(response) == ["You are registered: you will get reminders before it starts."]


def test_registering_twice_keeps_one_registration(logged_in, make_session, member):
    session = make_session()
    browser = logged_in("member")
    browser.post(rsvp(session), follow=True)  # the page it goes back to shows the message

    response = browser.post(rsvp(session))

    assert SessionRegistration.objects.filter(session=session).count() == 1
    assert messages_of(response) == ["You were already registered."]
    assert response["Location"] == f"/sessions/{session.pk}/"


def test_a_member_withdraws(logged_in, make_session, member):
    session = make_session()
    SessionRegistration.objects.create(session=session, user=member)

    response = logged_in("member").post(withdraw(session))

    assert not SessionRegistration.objects.exists()
    assert messages_of(response) == ["Your registration is withdrawn."]


def test_a_public_user_is_told_only_members_register(logged_in, make_session):
    session = make_session(is_public=True, members_only=False)

    response = logged_in("public_user").post(rsvp(session))

    assert response.status_code == 302
    assert messages_of(response) == ["Only members can register for sessions."]
    assert not SessionRegistration.objects.exists()


def test_a_canceled_session_takes_no_registration(logged_in, make_session):
    session = make_session(status=SessionStatus.CANCELED)

    response = logged_in("member").post(rsvp(session))

    assert messages_of(response) == ["The session was canceled."]
    assert not SessionRegistration.objects.exists()


def test_an_anonymous_visitor_is_sent_to_log_in(client, make_session):
    session = make_session(is_public=True)

    response = client.post(rsvp(session))

    assert response["Location"] == f"/accounts/login/?next=/sessions/{session.pk}/"


def test_a_session_that_may_not_be_seen_is_not_found(logged_in, make_session):
    session = make_session(is_public=False)

    assert logged_in("public_user").post(rsvp(session)).status_code == 404
    assert logged_in("public_user").post(withdraw(session)).status_code == 404


def test_it_never_goes_back_to_another_site(logged_in, make_session):
    session = make_session()

    response = logged_in("member").post(rsvp(session), {"next": "https://evil.example/"})

    assert response["Location"] == f"/sessions/{session.pk}/"


def test_it_takes_only_posts_with_their_csrf_token(make_session, member):
    session = make_session()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member)

    assert browser.get(rsvp(session)).status_code == 405
    assert browser.post(rsvp(session)).status_code == 403
    assert not SessionRegistration.objects.exists()
