"""The local provider: rooms are pages of this site, so a laptop needs no video account."""

from __future__ import annotations

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from sessions_app.rooms.base import JoinCredentials, Room, RoomProvider


def _room_page_url(session) -> str:
    try:
        path = reverse("session-room", args=[session.pk])
    except NoReverseMatch:
        path = f"/sessions/{session.pk}/room/"
    return f"{settings.SITE_URL}{path}"


class LocalRoomProvider(RoomProvider):
    name = "local"

    def create_room(self, session) -> Room:
        return Room(room_id=f"local-{session.pk}", room_url=_room_page_url(session))

    def delete_room(self, room_id: str) -> None:
        # Nothing lives outside our database; the session row records the room's end.
        return None

    def join_credentials(self, session, user, role: str) -> JoinCredentials:
        return JoinCredentials(room_url=_room_page_url(session), role=role)
