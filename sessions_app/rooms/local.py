"""The local provider: rooms are pages of this site, so a laptop needs no video account.

Nothing here makes a network call. Recording is simulated, and says so: the status moves
like a real one (recording, then ready) but ``simulated`` is set and there is never a file.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sessions_app.models import RecordingStatus
from sessions_app.rooms.base import (
    JoinCredentials,
    Recording,
    Room,
    RoomInfo,
    RoomProvider,
    RoomProviderNotSupported,
    WebhookEvent,
    room_page_url,
)


class LocalRoomProvider(RoomProvider):
    name = "local"
    simulated_recording = True
    has_participants = False

    def create_room(self, session) -> Room:
        """The room is the session's own page; its id is derived, so creating is idempotent."""
        return Room(room_id=f"local-{session.pk}", room_url=room_page_url(session.pk))

    def get_room(self, room_id: str) -> RoomInfo:
        """Local rooms exist as long as their session does; the session row says the rest."""
        return RoomInfo(room_id=room_id, active=True)

    def retire_room(self, room_id: str) -> None:
        """Nothing lives outside our database; the session row records the room's end."""
        return None

    def end_call(self, room_id: str) -> int:
        """The local room page stops admitting people once the session has ended."""
        return 0

    def join_credentials(
        self, session, user, role: str, *, participant_id: str | None = None
    ) -> JoinCredentials:
        """Our room page, no token: the page itself checks who is logged in."""
        return JoinCredentials(room_url=room_page_url(session.pk), role=role, provider=self.name)

    def start_recording(self, room_id: str) -> Recording:
        """Pretend to record: a fresh id with status ``recording``, flagged simulated."""
        return Recording(
            recording_id=f"local-rec-{uuid.uuid4()}",
            status=RecordingStatus.RECORDING,
            provider_status="SIMULATED",
            simulated=True,
        )

    def stop_recording(self, room_id: str, recording_id: str | None = None) -> Recording | None:
        """A simulated recording is "ready" at once, with no file to download."""
        if recording_id is None:
            # Nothing is kept here, so an unknown recording is one that never ran.
            return None
        return Recording(
            recording_id=recording_id,
            status=RecordingStatus.READY,
            provider_status="SIMULATED",
            simulated=True,
        )

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        """Nobody sends webhooks to a local room; refuse rather than trust an unsigned call."""
        raise RoomProviderNotSupported("The local room provider does not receive webhooks.")

    def webhook_delivery_id(self, body: bytes, headers: Mapping[str, str]) -> str:
        raise RoomProviderNotSupported("The local room provider does not receive webhooks.")

    def parse_webhook(self, body: bytes, *, delivery_id: str) -> WebhookEvent:
        raise RoomProviderNotSupported("The local room provider does not receive webhooks.")
