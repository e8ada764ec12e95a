"""``POST /api/auth/token`` and ``…/refresh`` (simplejwt), and the browser session with CSRF."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django.utils.crypto import get_random_string
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from tests.api.conftest import SESSIONS, client_for
from wwmaa.authentication import account_by_id
from wwmaa.models import User

TOKEN = "/api/auth/token"
REFRESH = "/api/auth/token/refresh"
EVENTS = "/api/events"


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_a_username_and_password_give_an_access_and_a_refresh_token(frozen, anon, member):
    response = anon.post(TOKEN, {"username": "mia", "password": "pw"}, format="json")

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    assert bearer(response.json()["access"]).get(EVENTS).status_code == 200


def test_the_paths_also_answer_with_a_trailing_slash(frozen, anon, member):
    response = anon.post(f"{TOKEN}/", {"username": "mia", "password": "pw"}, format="json")
    refreshed = anon.post(f"{REFRESH}/", {"refresh": response.json()["refresh"]}, format="json")

    assert (response.status_code, refreshed.status_code) == (200, 200)


def test_a_refresh_token_gives_a_new_working_access_token(frozen, anon, member):
    tokens = anon.post(TOKEN, {"username": "mia", "password": "pw"}, format="json").json()

    response = anon.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == 200
    assert bearer(response.json()["access"]).get(EVENTS).status_code == 200


def test_a_wrong_password_is_a_401(frozen, anon, member):
    response = anon.post(TOKEN, {"username": "mia", "password": "nope"}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "no_active_account"


def test_an_inactive_account_gets_no_token(frozen, anon, member):
    member.is_active = False
    member.save()

    response = anon.post(TOKEN, {"username": "mia", "password": "pw"}, format="json")

    assert response.status_code == 401


def test_missing_credentials_are_a_400_naming_the_fields(frozen, anon):
    response = anon.post(TOKEN, {}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"detail", "code", "username", "password"}


def test_a_bad_token_is_a_401_with_a_bearer_challenge(frozen, anon):
    response = bearer("not.a.token").get(SESSIONS)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["code"] == "token_not_valid"
    assert response.json()["detail"]


def test_an_access_token_expires_after_fifteen_minutes(frozen, member):
    client = client_for(member)
    assert client.get(EVENTS).status_code == 200

    frozen.shift(timedelta(minutes=15, seconds=1))

    assert client.get(EVENTS).status_code == 401


def test_a_refresh_token_is_no_access_token(frozen, member):
    response = bearer(str(RefreshToken.for_user(member))).get(EVENTS)

    assert (response.status_code, response.json()["code"]) == (401, "token_not_valid")


def test_a_bad_refresh_token_is_a_401(frozen, anon):
    response = anon.post(REFRESH, {"refresh": "garbage"}, format="json")

    assert (response.status_code, response.json()["code"]) == (401, "token_not_valid")


def test_a_token_of_an_account_deactivated_since_is_refused(frozen, member):
    client = client_for(member)
    member.is_active = False
    member.save()

    assert client.get(EVENTS).status_code == 401


def test_without_credentials_a_login_only_endpoint_is_a_401(frozen, anon):
    response = anon.post(SESSIONS, {}, format="json")

    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


class TestBrowserSession:
    """The site's own pages call the API with the session cookie, and CSRF applies."""

    @pytest.fixture
    def browser(self, instructor):
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(instructor)
        return client

    def test_reading_needs_no_csrf_token(self, frozen, browser, soon):
        assert browser.get(f"{SESSIONS}/{soon().pk}").status_code == 200

    def test_a_write_without_the_csrf_token_is_refused(self, frozen, browser):
        response = browser.post(SESSIONS, {"title": "Kata"}, format="json")

        assert response.status_code == 403
        assert "CSRF" in response.json()["detail"]

    def test_a_write_with_the_csrf_token_goes_through(self, frozen, browser):
        # What a page of the site hands its scripts: the cookie, and the same token to send.
        token = get_random_string(32)
        browser.cookies[settings.CSRF_COOKIE_NAME] = token

        response = browser.post(
            SESSIONS,
            {"title": "Kata", "start_time": "2026-06-02T18:00:00Z", "duration_minutes": 60},
            format="json",
            HTTP_X_CSRFTOKEN=token,
        )

        assert response.status_code == 201


def test_a_token_of_an_account_deleted_since_is_refused(frozen, member):
    client = client_for(member)
    member.delete()

    response = client.get(EVENTS)

    assert (response.status_code, response.json()["code"]) == (401, "user_not_found")


def test_a_token_naming_no_account_is_refused(frozen, member):
    token = AccessToken.for_user(member)
    del token["user_id"]

    response = bearer(str(token)).get(EVENTS)

    assert (response.status_code, response.json()["code"]) == (401, "token_not_valid")


@pytest.mark.parametrize("user_id", ["not-a-number", str(2**70), -(2**70)])
def test_a_token_naming_an_id_no_account_can_have_is_refused(frozen, member, user_id):
    token = AccessToken.for_user(member)
    token["user_id"] = user_id

    response = bearer(str(token)).get(EVENTS)

    assert (response.status_code, response.json()["code"]) == (401, "user_not_found")


def test_the_token_s_account_is_read_whole_as_the_orm_reads_it(frozen, member):
    member.last_login = timezone.now() - timedelta(days=3)
    member.timezone = "Asia/Tokyo"
    member.save()

    read = account_by_id(str(member.pk))
    expected = User.objects.get(pk=member.pk)

    assert type(read) is User
    assert read._state.adding is False and read._state.db == "default"
    for field in User._meta.concrete_fields:
        assert getattr(read, field.attname) == getattr(expected, field.attname), field.name
    assert read.last_login.tzinfo is not None
    assert account_by_id(member.pk + 1000) is None


def test_the_schema_still_names_the_bearer_scheme(anon):
    schema = anon.get("/api/schema", HTTP_ACCEPT="application/json").json()

    assert schema["components"]["securitySchemes"]["jwtAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
