"""System checks for the video rooms: which provider runs, and a half-done configuration.

``manage.py check --deploy`` says which provider is active. Any check warns when some but
not all three Cloudflare credentials are set, since the site then quietly runs on local
rooms instead of the account the operator meant to use.
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from sessions_app.rooms import describe_active_provider

CREDENTIALS = ("CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_API_TOKEN", "CLOUDFLARE_CALLS_APP_ID")


@checks.register()
def cloudflare_half_configured(app_configs, **kwargs) -> list[checks.CheckMessage]:
    missing = [name for name in CREDENTIALS if not getattr(settings, name, "")]
    if not missing or len(missing) == len(CREDENTIALS):
        return []
    return [
        checks.Warning(
            f"{', '.join(missing)} not set: video rooms are local, not Cloudflare.",
            hint="Set all three Cloudflare variables, or none.",
            id="sessions_app.W001",
        )
    ]


@checks.register(deploy=True)
def active_room_provider(app_configs, **kwargs) -> list[checks.CheckMessage]:
    return [checks.Info(f"Video rooms: {describe_active_provider()}.", id="sessions_app.I001")]
