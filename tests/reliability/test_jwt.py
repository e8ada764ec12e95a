"""Forged, altered, expired and misused JWTs: each is a 401, on login-only endpoints and on
open ones alike (a bad token never falls back to anonymous access)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from tests.reliability.conftest import SESSIONS

pytestmark = pytest.mark.usefixtures("frozen")

# A login-only read, a write, and an endpoint open to anonymous callers.
ENDPOINTS = [
    ("GET", "/api/events"),
    ("POST", SESSIONS),
    ("GET", SESSIONS),
]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(header: dict, claims: dict, key: str | None) -> str:
    """A JWT signed with HMAC-SHA256 under ``key``, or unsigned when ``key`` is None."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    if key is None:
        return f"{signing_input}."
    signature = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def claims_of(token) -> dict:
    return json.loads(unb64(str(token).split(".")[1]))


def call(method: str, path: str, token: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.generic(method, path, "{}", content_type="application/json")


def assert_refused(response) -> None:
    assert response.status_code == 401, response.content
    assert response.json()["code"] in {"token_not_valid", "user_not_found"}
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.fixture
def genuine(instructor) -> AccessToken:
    return AccessToken.for_user(instructor)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_genuine_token_is_accepted(genuine, method, path):
    assert call(method, path, str(genuine)).status_code in {200, 400}


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_token_whose_signature_was_altered_is_a_401(genuine, method, path):
    header, payload, signature = str(genuine).split(".")
    flipped = bytearray(unb64(signature))
    flipped[0] ^= 0x01

    assert_refused(call(method, path, f"{header}.{payload}.{b64(bytes(flipped))}"))


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_token_whose_claims_were_altered_is_a_401(genuine, admin_user, method, path):
    header, _payload, signature = str(genuine).split(".")
    claims = {**claims_of(genuine), "user_id": str(admin_user.pk)}

    assert_refused(call(method, path, f"{header}.{b64(json.dumps(claims).encode())}.{signature}"))


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_an_unsigned_token_claiming_alg_none_is_a_401(genuine, method, path, alg):
    token = encode({"alg": alg, "typ": "JWT"}, claims_of(genuine), key=None)

    assert_refused(call(method, path, token))


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_token_signed_with_another_algorithm_than_hs256_is_a_401(genuine, method, path):
    token = encode({"alg": "HS512", "typ": "JWT"}, claims_of(genuine), key="irrelevant")

    assert_refused(call(method, path, token))


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_token_signed_with_the_django_secret_key_is_a_401(genuine, method, path):
    # The API signs with its own key; SECRET_KEY (used for cookies, resets…) is not it.
    token = encode({"alg": "HS256", "typ": "JWT"}, claims_of(genuine), key=settings.SECRET_KEY)

    assert_refused(call(method, path, token))


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_an_expired_token_is_a_401(frozen, genuine, method, path):
    frozen.shift(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] + timedelta(seconds=1))

    assert_refused(call(method, path, str(genuine)))


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_token_whose_expiry_was_pushed_back_is_a_401(frozen, genuine, method, path):
    header, _payload, signature = str(genuine).split(".")
    claims = {**claims_of(genuine), "exp": claims_of(genuine)["exp"] + 3600}
    forged = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    frozen.shift(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] + timedelta(seconds=1))

    assert_refused(call(method, path, forged))


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_refresh_token_used_as_an_access_token_is_a_401(instructor, method, path):
    assert_refused(call(method, path, str(RefreshToken.for_user(instructor))))


def test_an_access_token_cannot_be_traded_for_a_new_one(genuine):
    response = APIClient().post("/api/auth/token/refresh", {"refresh": str(genuine)}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_an_expired_refresh_token_gets_no_new_access_token(frozen, instructor):
    refresh = RefreshToken.for_user(instructor)
    frozen.shift(settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"] + timedelta(seconds=1))

    response = APIClient().post("/api/auth/token/refresh", {"refresh": str(refresh)}, format="json")

    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_token_of_a_user_deleted_since_is_a_401(genuine, instructor, method, path):
    instructor.training_sessions.all().delete()
    instructor.delete()

    assert_refused(call(method, path, str(genuine)))
