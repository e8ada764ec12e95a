"""``POST``/``DELETE /api/training/sessions/{id}/registration``: RSVP and withdrawal."""

from __future__ import annotations

import pytest

from sessions_app.models import SessionRegistration, SessionStatus
from tests.api.conftest import client_for, url
from wwmaa.models import Role


def test_registering_answers_201_then_200(frozen, member, soon):
    session = soon()
    client = client_for(member)

    first = client.post(url(session, "/registration"))
    second = client.post(url(session, "/registration"))

    assert first.status_code == 201
    assert first.json() == {
        "session_id": str(session.pk),
        "registered": True,
        "created_at": "2026-06-01T16:00:00Z",
    }
    assert second.status_code == 200
    assert SessionRegistration.objects.filter(session=session, user=member).count() == 1


def test_withdrawing_answers_204_whether_or_not_registered(frozen, member, soon):
    session = soon()
    client = client_for(member)
    client.post(url(session, "/registration"))

    assert client.delete(url(session, "/registration")).status_code == 204
    assert client.delete(url(session, "/registration")).status_code == 204
    assert not SessionRegistration.objects.exists()


def test_the_session_shows_the_callers_registration(frozen, member, soon):
    session = soon()
    client = client_for(member)

    client.post(url(session, "/registration"))
    assert client.get(url(session)).json()["registered"] is True
    client.delete(url(session, "/registration"))
    assert client.get(url(session)).json()["registered"] is False


@pytest.mark.parametrize(
    ("status", "code"),
    [(SessionStatus.CANCELED, "session_canceled"), (SessionStatus.ENDED, "session_ended")],
)
def test_registering_for_a_finished_session_is_a_409(frozen, member, soon, status, code):
    response = client_for(member).post(url(soon(status=status), "/registration"))

    assert (response.status_code, response.json()["code"]) == (409, code)


def test_a_public_account_may_not_register(frozen, public_user, soon):
    response = client_for(public_user).post(url(soon(is_public=True), "/registration"))

    assert (response.status_code, response.json()["code"]) == (403, "members_only")


def test_a_registration_can_be_withdrawn_after_losing_sight_of_the_session(frozen, member, soon):
    session = soon()
    SessionRegistration.objects.create(session=session, user=member)
    member.role = Role.PUBLIC
    member.save()

    assert client_for(member).delete(url(session, "/registration")).status_code == 204


def test_withdrawing_from_a_hidden_session_without_registration_is_a_404(frozen, public_user, soon):
    response = client_for(public_user).delete(url(soon(), "/registration"))

    assert response.status_code == 404


def test_withdrawing_with_an_id_that_is_no_uuid_is_a_404(frozen, member):
    assert client_for(member).delete(url("nope", "/registration")).status_code == 404
