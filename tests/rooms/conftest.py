"""Fixtures for the room providers: Cloudflare settings, a wire mock, webhook signing keys."""

from __future__ import annotations

import base64
import json
import random
import re
from collections.abc import Callable, Iterator
from uuid import uuid4

import pytest
import requests
import responses
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.core.cache import cache

from sessions_app import rooms
from sessions_app.rooms.cloudflare import CloudflareRoomProvider

TOKEN = "cf-token-S3cr3t-ZXQ9"
ACCOUNT = "acc0123456789"
APP = "app9876543210"
API = f"https://api.cloudflare.com/client/v4/accounts/{ACCOUNT}/realtime/kit/{APP}"
MEETING = "bbbf2a1a-7d4c-4c5e-9d4e-3f0d9a3c1e11"
WEBHOOK_URL = "/api/webhooks/cloudflare"


def ok(data: dict | None = None) -> dict:
    """RealtimeKit's success envelope."""
    return {"success": True, "data": data if data is not None else {}}


@pytest.fixture(autouse=True)
def _no_real_network(monkeypatch):
    """Below the ``responses`` mock: a request nobody mocked fails instead of going out."""

    def refuse(adapter, request, *args, **kwargs):
        pytest.fail(f"Real network call attempted: {request.method} {request.url}")

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", refuse)


@pytest.fixture(autouse=True)
def _fresh_cache():
    # The webhook key and its re-fetch guard live in the cache; no test sees another's.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def cloudflare_settings(settings):
    """Settings as on a site with Cloudflare configured (no webhook key: see below)."""
    settings.ROOM_PROVIDER = "cloudflare"
    settings.CLOUDFLARE_ACCOUNT_ID = ACCOUNT
    settings.CLOUDFLARE_API_TOKEN = TOKEN
    settings.CLOUDFLARE_CALLS_APP_ID = APP
    settings.CLOUDFLARE_API_BASE_URL = "https://api.cloudflare.com/client/v4"
    settings.CLOUDFLARE_HOST_PRESET = "group_call_host"
    settings.CLOUDFLARE_PARTICIPANT_PRESET = "group_call_participant"
    settings.CLOUDFLARE_WEBHOOK_PUBLIC_KEY = ""
    return settings


@pytest.fixture
def sleeps() -> list[float]:
    """Every wait the provider asked for, in order; nothing really sleeps."""
    return []


@pytest.fixture
def provider(cloudflare_settings, sleeps) -> CloudflareRoomProvider:
    return CloudflareRoomProvider(sleep=sleeps.append, rng=random.Random(7))


@pytest.fixture
def cloudflare(cloudflare_settings, sleeps, monkeypatch) -> CloudflareRoomProvider:
    """The Cloudflare provider exactly as the services get it, whose waits are recorded.

    ``get_provider()`` builds it from the settings; its default ``sleep`` is swapped for
    ``sleeps.append`` and any provider kept from an earlier test is dropped first.
    """
    monkeypatch.setitem(CloudflareRoomProvider.__init__.__kwdefaults__, "sleep", sleeps.append)
    monkeypatch.setattr(rooms._instances, "provider", None, raising=False)
    provider = rooms.get_provider()
    assert isinstance(provider, CloudflareRoomProvider)
    return provider


@pytest.fixture
def wire() -> Iterator[responses.RequestsMock]:
    """The HTTP wire: only registered answers exist, and each must be used."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def no_http() -> Iterator[responses.RequestsMock]:
    """Fails the test on any outbound HTTP request at all."""

    def refuse(request):
        pytest.fail(f"Unexpected HTTP call: {request.method} {request.url}")

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            mock.add_callback(method, re.compile(r".*"), callback=refuse)
        yield mock


@pytest.fixture(scope="session")
def signing_key() -> rsa.RSAPrivateKey:
    """Stands in for Cloudflare's private key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign(key: rsa.RSAPrivateKey, body: bytes) -> str:
    return base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


@pytest.fixture
def webhook_settings(cloudflare_settings, signing_key):
    """Cloudflare configured with the test key as the webhook public key."""
    cloudflare_settings.CLOUDFLARE_WEBHOOK_PUBLIC_KEY = public_pem(signing_key)
    return cloudflare_settings


@pytest.fixture
def deliver(client, signing_key) -> Callable:
    """POST a signed webhook the way Cloudflare does; returns the response."""

    def post(payload: dict | bytes, *, uuid: str | None = None, key=None, headers=None):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        sent = {
            "rtk-signature": sign(key or signing_key, body),
            "rtk-uuid": uuid or str(uuid4()),
            "rtk-webhook-id": "wh-1",
        }
        sent.update(headers or {})
        sent = {name: value for name, value in sent.items() if value is not None}
        return client.post(WEBHOOK_URL, data=body, content_type="application/json", headers=sent)

    return post
