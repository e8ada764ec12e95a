"""Which provider is active, and how the site says so."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from sessions_app.rooms import active_provider, describe_active_provider, get_provider
from tests.rooms.conftest import TOKEN


def test_the_local_provider_is_the_default():
    assert active_provider() == "local"
    assert get_provider().name == "local"
    assert "simulated" in describe_active_provider()


def test_cloudflare_is_used_when_configured(cloudflare_settings):
    provider = get_provider()

    assert active_provider() == "cloudflare"
    assert provider.name == "cloudflare"
    assert describe_active_provider() == (
        "Cloudflare RealtimeKit (account acc0123456789, app app9876543210)"
    )
    assert TOKEN not in describe_active_provider()
    assert TOKEN not in repr(provider)


def test_one_provider_and_http_session_is_reused(cloudflare_settings):
    first = get_provider()

    assert get_provider() is first
    assert first._session is get_provider()._session


def test_changed_settings_give_a_fresh_provider(cloudflare_settings):
    first = get_provider()
    cloudflare_settings.CLOUDFLARE_CALLS_APP_ID = "another-app"

    assert get_provider() is not first
    assert get_provider().app_id == "another-app"


def test_an_unknown_provider_name_stops_loudly(settings):
    settings.ROOM_PROVIDER = "zoom"

    with pytest.raises(ImproperlyConfigured, match="zoom"):
        get_provider()
