"""The room provider interface: what the domain asks of a video-room service.

A *room* is where one training session's call happens (a RealtimeKit meeting on
Cloudflare, a page of this site on the local provider). Providers work with ids and return
small value objects; they never read or write our database, so the services decide what
to store and when (see ``sessions_app.services.rooms`` and ``sessions_app.webhooks``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from django.conf import settings
from django.urls import NoReverseMatch, reverse


class RoomProviderError(Exception):
    """Base of every provider failure; the message never contains credentials.

    ``status`` is the HTTP status the provider answered with (None when there was no
    answer) and ``code`` the provider's own error code, when it gave one.
    """

    def __init__(self, message: str, *, status: int | None = None, code: int | str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status!r})"


class RoomProviderUnavailable(RoomProviderError):
    """Transient: connection trouble, timeouts, 408/409/429 or 5xx after the retries were spent.

    ``retry_after`` is the provider's own hint in seconds (from ``Retry-After``), if any,
    for a job that wants to try again later. ``outcome_unknown`` is true when a request
    that is not safe to repeat went out and no answer came back: it may have been applied.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | str | None = None,
        retry_after: float | None = None,
        outcome_unknown: bool = False,
    ):
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after
        self.outcome_unknown = outcome_unknown


class RoomProviderRejected(RoomProviderError):
    """The provider refused the request (4xx, or a 2xx saying ``success: false``).

    Repeating it unchanged will not help.
    """


class RoomProviderInvalidCredentials(RoomProviderRejected):
    """401/403: the account id, app id or API token is wrong or lacks the permission."""


class RoomProviderNotSupported(RoomProviderError):
    """The active provider has no such operation (e.g. webhooks on the local provider)."""


class WebhookSignatureMissing(RoomProviderError):
    """A webhook arrived without its signature header (answered with 400)."""


class WebhookSignatureInvalid(RoomProviderError):
    """A webhook's signature does not match its body (answered with 401)."""


class WebhookPayloadInvalid(RoomProviderError):
    """A correctly signed webhook whose body is not an event we can read (answered 400)."""


class RoomRole(StrEnum):
    HOST = "host"
    PARTICIPANT = "participant"


@dataclass(frozen=True)
class Room:
    """A room just created: ``room_id`` is the provider's id, ``room_url`` our join page."""

    room_id: str
    room_url: str


@dataclass(frozen=True)
class RoomInfo:
    """What the provider says about an existing room."""

    room_id: str
    active: bool


@dataclass(frozen=True)
class JoinCredentials:
    """What a browser needs to enter a room. ``token`` is secret: never put it in a URL.

    ``participant_id`` is the provider's id for this user in this room; store it per
    (session, user) and pass it back on the next join so the token is refreshed instead of
    a second participant being added. The local provider has neither token nor id.
    """

    room_url: str
    role: str  # a RoomRole value
    token: str | None = field(default=None, repr=False)
    participant_id: str | None = None
    provider: str = ""


@dataclass(frozen=True)
class Recording:
    """A recording as the provider reports it, with ``status`` already in our vocabulary.

    ``status`` is a ``sessions_app.models.RecordingStatus`` value; ``provider_status`` is
    the provider's own word for it. ``simulated`` is true on the local provider, where no
    video is ever recorded and pages must say so.
    """

    recording_id: str
    status: str
    download_url: str | None = None
    provider_status: str = ""
    simulated: bool = False


class WebhookEventKind(StrEnum):
    MEETING_STARTED = "meeting.started"
    MEETING_ENDED = "meeting.ended"
    PARTICIPANT_JOINED = "meeting.participantJoined"
    PARTICIPANT_LEFT = "meeting.participantLeft"
    RECORDING_STATUS = "recording.statusUpdate"


@dataclass(frozen=True)
class WebhookEvent:
    """One verified webhook delivery, reduced to what our handlers read.

    ``kind`` is a ``WebhookEventKind`` value, or the provider's own name for an event we do
    not handle. ``user_ref`` is the participant's custom id as sent back by the provider
    (our user's id, unverified: it may name nobody). ``occurred_at`` is when it happened
    by the provider's clock: the call's start or end, the participant's join or leave.
    """

    kind: str
    delivery_id: str
    room_id: str | None = None
    call_id: str | None = None
    user_ref: str | None = None
    peer_id: str | None = None
    occurred_at: datetime | None = None
    reason: str | None = None
    recording: Recording | None = None


def room_page_url(session_id) -> str:
    """The absolute URL of our own room page for a session (the join page, token-free)."""
    try:
        path = reverse("session-room", args=[session_id])
    except NoReverseMatch:
        # The pages issue adds the named route; until then the address is the SPEC's.
        path = f"/sessions/{session_id}/room/"
    return f"{settings.SITE_URL}{path}"


class RoomProvider(ABC):
    """One video-room backend. Instances are cheap to keep and safe to reuse.

    Every method either returns or raises a ``RoomProviderError`` subclass; none of them
    touches the database.
    """

    name: str
    #: Whether recordings are only pretended (the UI must then say "recording is simulated").
    simulated_recording: bool = False
    #: Whether join credentials name a participant of the provider's own, whose id is kept
    #: per (session, user) and passed back on the next join (``JoinCredentials``).
    has_participants: bool = True

    @abstractmethod
    def create_room(self, session) -> Room:
        """Create a room for ``session`` (reads its ``pk`` and ``title``)."""

    @abstractmethod
    def get_room(self, room_id: str) -> RoomInfo:
        """Look a room up; ``RoomProviderRejected`` (status 404) when it does not exist."""

    @abstractmethod
    def retire_room(self, room_id: str) -> None:
        """Close a room for good: nobody can join it any more and a live call is ended.

        Retiring a room that is already retired or gone is not an error.
        """

    def delete_room(self, room_id: str) -> None:
        """Former name of ``retire_room`` (rooms are retired, never deleted)."""
        self.retire_room(room_id)

    @abstractmethod
    def end_call(self, room_id: str) -> int:
        """Remove everyone from the room's live call (and so stop its recording).

        Returns how many participants were removed; 0 when no call was live.
        """

    @abstractmethod
    def join_credentials(
        self, session, user, role: str, *, participant_id: str | None = None
    ) -> JoinCredentials:
        """Credentials for ``user`` to enter ``session``'s room as ``role`` (a ``RoomRole``).

        With ``participant_id`` (returned by an earlier call for the same user and room)
        the provider refreshes that participant's token instead of adding another one.
        """

    @abstractmethod
    def start_recording(self, room_id: str) -> Recording:
        """Start recording the room's live call."""

    @abstractmethod
    def stop_recording(self, room_id: str, recording_id: str | None = None) -> Recording | None:
        """Stop a recording; with no ``recording_id``, the room's active one.

        Returns None when there was no active recording to stop.
        """

    @abstractmethod
    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        """Check a webhook's signature over the raw ``body``, before anything parses it.

        Raises ``WebhookSignatureMissing``, ``WebhookSignatureInvalid``,
        ``RoomProviderNotSupported`` or, when the key to check with cannot be had now,
        ``RoomProviderUnavailable``.
        """

    @abstractmethod
    def webhook_delivery_id(self, body: bytes, headers: Mapping[str, str]) -> str:
        """The delivery's unique id, stable across the provider's re-deliveries."""

    @abstractmethod
    def parse_webhook(self, body: bytes, *, delivery_id: str) -> WebhookEvent:
        """Read an already verified body; ``WebhookPayloadInvalid`` when it is unreadable."""

    def receive_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Verify, then parse, one delivery: what the webhook endpoint calls."""
        self.verify_webhook(body, headers)
        return self.parse_webhook(body, delivery_id=self.webhook_delivery_id(body, headers))

    def register_webhook(self, url: str, events: list[str]) -> str:
        """Subscribe ``url`` to ``events``; returns the provider's webhook id."""
        raise RoomProviderNotSupported(f"The {self.name} room provider has no webhooks.")
