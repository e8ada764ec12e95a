"""The room provider interface: what the domain asks of a video-room service."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


class RoomProviderError(Exception):
    """Base of every provider failure; the message never contains credentials."""


class RoomProviderUnavailable(RoomProviderError):
    """Transient: connection trouble, timeouts, 429 or 5xx after the retries were spent."""


class RoomProviderRejected(RoomProviderError):
    """The provider refused the request; repeating it unchanged will not help."""


@dataclass(frozen=True)
class Room:
    room_id: str
    room_url: str


@dataclass(frozen=True)
class JoinCredentials:
    """What a browser needs to enter a room. ``token`` is secret: never put it in a URL."""

    room_url: str
    role: str  # "host" or "participant"
    token: str | None = None


class RoomProvider(ABC):
    name: str

    @abstractmethod
    def create_room(self, session) -> Room: ...

    @abstractmethod
    def delete_room(self, room_id: str) -> None: ...

    @abstractmethod
    def join_credentials(self, session, user, role: str) -> JoinCredentials: ...
