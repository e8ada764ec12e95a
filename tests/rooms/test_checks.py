"""The system checks say which room provider runs, and warn about a half-set account."""

from __future__ import annotations

import pytest
from django.core import checks

from tests.rooms.conftest import TOKEN


def messages(*, deploy: bool = False) -> list[checks.CheckMessage]:
    found = checks.run_checks(include_deployment_checks=deploy)
    return [message for message in found if message.id.startswith("sessions_app.")]


def test_the_deploy_check_names_the_local_provider(settings):
    settings.CLOUDFLARE_ACCOUNT_ID = settings.CLOUDFLARE_API_TOKEN = ""
    settings.CLOUDFLARE_CALLS_APP_ID = ""

    (info,) = messages(deploy=True)

    assert info.id == "sessions_app.I001"
    assert info.msg == ("Video rooms: Local rooms (pages of this site; recording is simulated).")


def test_the_deploy_check_names_the_cloudflare_app_without_the_token(cloudflare_settings):
    (info,) = messages(deploy=True)

    assert "Cloudflare RealtimeKit (account acc0123456789, app app9876543210)" in info.msg
    assert TOKEN not in info.msg


@pytest.mark.parametrize("missing", ["CLOUDFLARE_API_TOKEN", "CLOUDFLARE_CALLS_APP_ID"])
def test_a_half_set_cloudflare_account_is_a_warning(cloudflare_settings, missing):
    setattr(cloudflare_settings, missing, "")
    cloudflare_settings.ROOM_PROVIDER = "local"

    (warning,) = messages()

    assert warning.id == "sessions_app.W001"
    assert missing in warning.msg


def test_a_full_or_empty_configuration_is_no_warning(cloudflare_settings):
    assert messages() == []
