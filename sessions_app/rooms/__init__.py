"""Video-room providers. Callers use ``get_provider()``, never a concrete class.

``ROOM_PROVIDER`` (set in ``wwmaa.settings``: ``cloudflare`` when the three Cloudflare
credentials are set, ``local`` otherwise) names the implementation in ``PROVIDERS``.
"""

from __future__ import annotations

import hashlib
import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from sessions_app.rooms.base import (
    JoinCredentials,
    Recording,
    Room,
    RoomInfo,
    RoomProvider,
    RoomProviderError,
    RoomProviderInvalidCredentials,
    RoomProviderNotSupported,
    RoomProviderRejected,
    RoomProviderUnavailable,
    RoomRole,
    WebhookEvent,
    WebhookEventKind,
    WebhookPayloadInvalid,
    WebhookSignatureInvalid,
    WebhookSignatureMissing,
)

PROVIDERS = {
    "local": "sessions_app.rooms.local.LocalRoomProvider",
    "cloudflare": "sessions_app.rooms.cloudflare.CloudflareRoomProvider",
}

LABELS = {
    "local": "Local rooms (pages of this site; recording is simulated)",
    "cloudflare": "Cloudflare RealtimeKit",
}

__all__ = [
    "PROVIDERS",
    "JoinCredentials",
    "Recording",
    "Room",
    "RoomInfo",
    "RoomProvider",
    "RoomProviderError",
    "RoomProviderInvalidCredentials",
    "RoomProviderNotSupported",
    "RoomProviderRejected",
    "RoomProviderUnavailable",
    "RoomRole",
    "WebhookEvent",
    "WebhookEventKind",
    "WebhookPayloadInvalid",
    "WebhookSignatureInvalid",
    "WebhookSignatureMissing",
    "active_provider",
    "describe_active_provider",
    "get_provider",
]

# One provider instance (so one HTTP session and its connection pool) per thread and
# configuration: requests sessions are not promised to be thread-safe, and tests that
# change the settings get a fresh instance instead of a stale one.
_instances = threading.local()


def active_provider() -> str:
    """The name of the provider ``get_provider()`` returns: ``cloudflare`` or ``local``."""
    name = settings.ROOM_PROVIDER
    if name not in PROVIDERS:
        raise ImproperlyConfigured(
            f"ROOM_PROVIDER={name!r} is not one of: {', '.join(sorted(PROVIDERS))}."
        )
    return name


def describe_active_provider() -> str:
    """One line for a status page or a settings check; never shows a credential."""
    name = active_provider()
    if name == "cloudflare":
        return (
            f"{LABELS[name]} (account {settings.CLOUDFLARE_ACCOUNT_ID}, "
            f"app {settings.CLOUDFLARE_CALLS_APP_ID})"
        )
    return LABELS[name]


def _config_key(name: str) -> tuple[str, ...]:
    if name != "cloudflare":
        return (name,)
    token_digest = hashlib.sha256(settings.CLOUDFLARE_API_TOKEN.encode()).hexdigest()
    return (
        name,
        settings.CLOUDFLARE_ACCOUNT_ID,
        settings.CLOUDFLARE_CALLS_APP_ID,
        settings.CLOUDFLARE_API_BASE_URL,
        settings.CLOUDFLARE_HOST_PRESET,
        settings.CLOUDFLARE_PARTICIPANT_PRESET,
        settings.CLOUDFLARE_WEBHOOK_PUBLIC_KEY,
        token_digest,
    )


def get_provider() -> RoomProvider:
    """The provider chosen by the ``ROOM_PROVIDER`` setting."""
    name = active_provider()
    key = _config_key(name)
    cached = getattr(_instances, "provider", None)
    if cached is None or cached[0] != key:
        cached = (key, import_string(PROVIDERS[name])())
        _instances.provider = cached
    return cached[1]
