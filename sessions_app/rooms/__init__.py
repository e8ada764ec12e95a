"""Video-room providers. Callers use ``get_provider()``, never a concrete class."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from sessions_app.rooms.base import (
    JoinCredentials,
    Room,
    RoomProvider,
    RoomProviderError,
    RoomProviderRejected,
    RoomProviderUnavailable,
)

PROVIDERS = {
    "local": "sessions_app.rooms.local.LocalRoomProvider",
}

__all__ = [
    "JoinCredentials",
    "Room",
    "RoomProvider",
    "RoomProviderError",
    "RoomProviderRejected",
    "RoomProviderUnavailable",
    "get_provider",
]


def get_provider() -> RoomProvider:
    """The provider chosen by the ``ROOM_PROVIDER`` setting."""
    name = settings.ROOM_PROVIDER
    if name not in PROVIDERS:
        # Until the Cloudflare provider exists, a configured account still runs locally.
        name = "local"
    return import_string(PROVIDERS[name])()
