"""manage.py cloudflare_webhook --url URL."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.rooms.conftest import API, TOKEN, ok

HOOK = "https://live.wwmaa.example/api/webhooks/cloudflare"


def test_it_registers_our_endpoint_for_the_five_events(cloudflare_settings, wire):
    wire.post(f"{API}/webhooks", status=201, json=ok({"id": "wh-42"}))
    out = StringIO()

    call_command("cloudflare_webhook", "--url", HOOK, stdout=out)

    request = wire.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert json.loads(request.body) == {
        "name": "WWMAA Live",
        "url": HOOK,
        "events": [
            "meeting.started",
            "meeting.ended",
            "meeting.participantJoined",
            "meeting.participantLeft",
            "recording.statusUpdate",
        ],
        "enabled": True,
    }
    assert "wh-42" in out.getvalue()


def test_without_cloudflare_it_says_what_to_set(no_http):
    with pytest.raises(CommandError) as caught:
        call_command("cloudflare_webhook", "--url", HOOK)

    message = str(caught.value)
    assert "\n" not in message
    assert "CLOUDFLARE_API_TOKEN" in message


def test_it_refuses_a_url_that_is_not_one(cloudflare_settings, no_http):
    with pytest.raises(CommandError, match="not an absolute"):
        call_command("cloudflare_webhook", "--url", "/api/webhooks/cloudflare")


def test_a_refusal_by_cloudflare_is_one_line_without_the_token(cloudflare_settings, wire):
    wire.post(
        f"{API}/webhooks",
        status=403,
        json={"success": False, "errors": [{"code": 10000, "message": "Authentication error"}]},
    )

    with pytest.raises(CommandError) as caught:
        call_command("cloudflare_webhook", "--url", HOOK)

    assert "Authentication error" in str(caught.value)
    assert TOKEN not in str(caught.value)
