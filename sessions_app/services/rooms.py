"""Keeping a session's video room in step with the session.

The provider is called outside any database transaction (it may be a network call);
the result is recorded with a conditional UPDATE so that two callers racing to create a
room record exactly one, and the loser retires the room it made.
"""

from __future__ import annotations

import logging

from django.db.models import Q
from django.utils import timezone

from sessions_app.models import RoomStatus, TrainingSession
from sessions_app.rooms import RoomProviderError, get_provider
from sessions_app.services.errors import RoomNotReady

logger = logging.getLogger(__name__)


def ensure_room(session: TrainingSession) -> TrainingSession:
    """Make sure the session has a ready room, creating one if needed.

    Raises ``RoomNotReady`` when the provider cannot create it now. Updates ``session``
    in place.
    """
    if session.room_status == RoomStatus.READY:
        return session
    if session.room_status == RoomStatus.DELETED:
        # A deleted room belongs to a session that is over; the conditional update below
        # would refuse to record a new one, so creating it would only leave an orphan room
        # at the provider to retire again.
        raise RoomNotReady("The video room of this session was closed.")
    provider = get_provider()
    try:
        room = provider.create_room(session)
    except RoomProviderError as exc:
        logger.warning("Room creation failed for session %s: %s", session.pk, exc)
        raise RoomNotReady(
            "The video room is not ready and could not be created just now. "
            "Please try again in a moment."
        ) from exc
    won = (
        TrainingSession.objects.filter(pk=session.pk)
        .filter(Q(room_status=RoomStatus.PENDING) | Q(room_status=RoomStatus.FAILED))
        .update(
            room_id=room.room_id,
            room_url=room.room_url,
            room_status=RoomStatus.READY,
            updated_at=timezone.now(),
        )
    )
    if not won and room.room_id:
        # Someone else recorded a room first: keep theirs, retire ours.
        try:
            provider.delete_room(room.room_id)
        except RoomProviderError:
            logger.warning("Could not retire duplicate room %s", room.room_id)
    session.refresh_from_db(fields=["room_id", "room_url", "room_status", "updated_at"])
    if session.room_status != RoomStatus.READY:
        raise RoomNotReady("The video room is not available for this session.")
    return session


def retire_room(session_id) -> bool:
    """Retire the room of a canceled or ended session. Failures are left for the cleanup job."""
    session = TrainingSession.objects.filter(pk=session_id).first()
    if session is None or session.room_status != RoomStatus.READY or not session.room_id:
        return False
    try:
        get_provider().delete_room(session.room_id)
    except RoomProviderError as exc:
        logger.warning(
            "Retiring the room of session %s failed; cleanup will retry: %s", session_id, exc
        )
        return False
    TrainingSession.objects.filter(pk=session_id, room_status=RoomStatus.READY).update(
        room_status=RoomStatus.DELETED, updated_at=timezone.now()
    )
    return True


def end_call(session_id) -> None:
    """Seam for ending the live call and its recording when a session ends.

    The local provider has nothing to end; provider-side calls are added with the
    Cloudflare provider.
    """
    return None
