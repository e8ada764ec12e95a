"""POST /api/webhooks/cloudflare: only correctly signed deliveries get in, each once."""

from __future__ import annotations

import json

import pytest
import requests
from django.test import Client

from sessions_app.models import WebhookDelivery
from sessions_app.rooms.cloudflare import WELL_KNOWN_KEY_URL
from tests.rooms.conftest import MEETING, WEBHOOK_URL, public_pem, sign

pytestmark = pytest.mark.django_db

EVENT = {"event": "meeting.ended", "meeting": {"id": MEETING}, "reason": "HOST_ENDED"}


@pytest.fixture
def body() -> bytes:
    return json.dumps(EVENT).encode()


def test_a_correctly_signed_delivery_is_accepted_and_stored(webhook_settings, deliver):
    response = deliver(EVENT, uuid="d-1")

    assert response.status_code == 200
    assert response.json() == {"received": True, "event": "meeting.ended", "duplicate": False}
    delivery = WebhookDelivery.objects.get()
    assert delivery.delivery_id == "d-1"
    assert delivery.provider == "cloudflare"
    assert delivery.event == "meeting.ended"
    assert delivery.processed_at is not None  # the task ran (django-q2 sync in tests)
    assert delivery.outcome.startswith("ignored: unknown room")


def test_a_delivery_without_signature_is_a_400(webhook_settings, deliver):
    response = deliver(EVENT, headers={"rtk-signature": None})

    assert response.status_code == 400
    assert response.json()["code"] == "signature_missing"
    assert not WebhookDelivery.objects.exists()


def test_a_malformed_signature_is_a_401(webhook_settings, deliver):
    response = deliver(EVENT, headers={"rtk-signature": "not base64 at all!"})

    assert response.status_code == 401
    assert response.json()["code"] == "signature_invalid"
    assert not WebhookDelivery.objects.exists()


def test_a_signature_by_another_key_is_a_401(webhook_settings, deliver, other_key):
    response = deliver(EVENT, key=other_key)

    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()


def test_a_tampered_body_is_a_401(webhook_settings, client, signing_key, body):
    tampered = body.replace(b"HOST_ENDED", b"ALL_PARTICIPANTS_LEFT")

    response = client.post(
        WEBHOOK_URL,
        data=tampered,
        content_type="application/json",
        headers={"rtk-signature": sign(signing_key, body), "rtk-uuid": "d-1"},
    )

    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()


def test_the_signature_covers_the_bytes_as_sent(webhook_settings, deliver):
    # Same JSON, other spacing: verified over the raw bytes, never a re-serialisation.
    raw = b'{"event":  "meeting.ended",\n "meeting": {"id": "' + MEETING.encode() + b'"}}'

    assert deliver(raw).status_code == 200


def test_a_repeated_delivery_changes_nothing(webhook_settings, deliver):
    first = deliver(EVENT, uuid="d-1")
    stored = WebhookDelivery.objects.get()

    again = deliver(EVENT, uuid="d-1")

    assert first.status_code == again.status_code == 200
    assert again.json()["duplicate"] is True
    assert WebhookDelivery.objects.get() == stored
    assert WebhookDelivery.objects.get().processed_at == stored.processed_at


def test_a_signed_body_that_is_not_an_event_is_a_400(webhook_settings, deliver):
    assert deliver(b"[1, 2, 3]").status_code == 400
    assert deliver(b"not json").status_code == 400
    assert not WebhookDelivery.objects.exists()


def test_csrf_does_not_apply_and_only_post_is_allowed(webhook_settings, signing_key, body):
    strict = Client(enforce_csrf_checks=True)

    accepted = strict.post(
        WEBHOOK_URL,
        data=body,
        content_type="application/json",
        headers={"rtk-signature": sign(signing_key, body), "rtk-uuid": "d-1"},
    )

    assert accepted.status_code == 200
    assert strict.get(WEBHOOK_URL).status_code == 405


def test_a_key_configured_on_one_line_is_read(cloudflare_settings, signing_key, deliver):
    cloudflare_settings.CLOUDFLARE_WEBHOOK_PUBLIC_KEY = public_pem(signing_key).replace("\n", "\\n")

    assert deliver(EVENT).status_code == 200


def test_with_the_local_provider_the_endpoint_is_off(deliver, no_http):
    response = deliver(EVENT)

    assert response.status_code == 404
    assert response.json()["code"] == "webhooks_disabled"


# Cloudflare's published key, when none is configured.


def published(key) -> dict:
    return {"success": True, "data": {"publicKey": public_pem(key)}}


def test_the_published_key_is_fetched_once_and_cached(
    cloudflare_settings, deliver, wire, signing_key
):
    wire.get(WELL_KNOWN_KEY_URL, json=published(signing_key))

    assert deliver(EVENT).status_code == 200
    assert deliver(EVENT).status_code == 200

    assert len(wire.calls) == 1
    # Our API token is for the API only, never for a key server.
    assert "Authorization" not in wire.calls[0].request.headers


def test_a_rotated_key_is_fetched_again_once(
    cloudflare_settings, deliver, wire, signing_key, other_key
):
    wire.get(WELL_KNOWN_KEY_URL, json=published(other_key))  # the key we cached earlier
    wire.get(WELL_KNOWN_KEY_URL, json=published(signing_key))  # the key after rotation
    assert deliver(EVENT, key=other_key).status_code == 200

    assert deliver(EVENT, key=signing_key).status_code == 200
    assert len(wire.calls) == 2


def test_forged_deliveries_do_not_make_us_fetch_the_key_again_and_again(
    cloudflare_settings, deliver, wire, signing_key, other_key
):
    wire.get(WELL_KNOWN_KEY_URL, json=published(signing_key))
    wire.get(WELL_KNOWN_KEY_URL, json=published(signing_key))

    assert deliver(EVENT, key=other_key).status_code == 401  # fetch, then one re-fetch
    assert deliver(EVENT, key=other_key).status_code == 401  # neither again for a while
    assert deliver(EVENT, key=other_key).status_code == 401

    assert len(wire.calls) == 2


def test_when_the_key_cannot_be_fetched_cloudflare_is_asked_to_retry(
    cloudflare_settings, deliver, wire
):
    wire.get(WELL_KNOWN_KEY_URL, body=requests.ConnectionError("down"))

    response = deliver(EVENT)

    assert response.status_code == 503  # Cloudflare re-delivers after a 5xx
    assert not WebhookDelivery.objects.exists()


def test_a_misconfigured_key_is_a_503_not_a_crash(cloudflare_settings, deliver):
    cloudflare_settings.CLOUDFLARE_WEBHOOK_PUBLIC_KEY = "-----BEGIN PUBLIC KEY-----\nnope\n"

    assert deliver(EVENT).status_code == 503


def test_a_delivery_that_cannot_be_queued_is_forgotten_so_it_comes_again(
    webhook_settings, deliver, monkeypatch
):
    def broken(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr("sessions_app.webhooks.enqueue", broken)

    assert deliver(EVENT, uuid="d-1").status_code == 503
    assert not WebhookDelivery.objects.exists()
