"""Keeping a session's video room and its recording in step with the session.

The provider is called outside any database transaction (it may be a network call);
the result is recorded with a conditional UPDATE so that two callers racing to create a
room record exactly one, and the loser retires the room it made.

The lifecycle never waits for the provider: it queues these functions as django-q2 tasks
once its own transaction has committed (``queue``), and every task here logs a provider
failure and returns instead of raising, leaving the row for a job or a later call to retry.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from sessions_app.models import RecordingStatus, RoomStatus, SessionStatus, TrainingSession
from sessions_app.queueing import enqueue
from sessions_app.rooms import Recording, RoomProviderError, get_provider
from sessions_app.services.errors import RoomNotReady

logger = logging.getLogger(__name__)

CREATE_ROOM_TASK = "sessions_app.services.rooms.create_room_task"
RETIRE_ROOM_TASK = "sessions_app.services.rooms.retire_room"
END_CALL_TASK = "sessions_app.services.rooms.end_call"
START_RECORDING_TASK = "sessions_app.services.rooms.start_recording"

# What a stopped recording's status may replace: never a later one, which the provider's
# webhook may have stored while the stop was on its way.
_STOPPED_REPLACES = {
    RecordingStatus.PROCESSING: [
        RecordingStatus.NONE,
        RecordingStatus.FAILED,
        RecordingStatus.RECORDING,
    ],
    RecordingStatus.READY: [
        RecordingStatus.NONE,
        RecordingStatus.FAILED,
        RecordingStatus.RECORDING,
        RecordingStatus.PROCESSING,
    ],
    RecordingStatus.FAILED: [RecordingStatus.NONE, RecordingStatus.RECORDING],
}


def queue(task: str, session_id) -> None:
    """Run ``task(session_id)`` in a worker once the current transaction commits.

    ``robust``: the change the caller made is committed by then, so a broker that cannot
    take the task is logged, never turned into an error for the caller. Outside a
    transaction the task is queued at once.
    """
    transaction.on_commit(
        lambda: enqueue(task, str(session_id), task_name=f"{task.rsplit('.', 1)[-1]} {session_id}"),
        robust=True,
    )


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
    try:
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
    except DatabaseError:
        # The room exists but could not be recorded; the next attempt makes another, so
        # this one would be left behind at the provider.
        _retire_unrecorded(provider, room.room_id)
        raise
    if not won:
        # Someone else recorded a room first: keep theirs, retire ours.
        _retire_unrecorded(provider, room.room_id)
    session.refresh_from_db(fields=["room_id", "room_url", "room_status", "updated_at"])
    if session.room_status != RoomStatus.READY:
        raise RoomNotReady("The video room is not available for this session.")
    return session


def _retire_unrecorded(provider, room_id: str | None) -> None:
    if not room_id:
        return
    try:
        provider.retire_room(room_id)
    except RoomProviderError:
        logger.warning("Could not retire unrecorded room %s", room_id)


def create_room_task(session_id) -> str:
    """The task queued when a session is created: give it a room now, if the provider can.

    A failure leaves the room ``pending`` for the ensure-rooms job to retry; a session
    canceled or ended meanwhile gets no room at all.
    """
    session = TrainingSession.objects.filter(pk=session_id).first()
    if session is None or session.is_finished:
        return "no room needed"
    if session.room_status != RoomStatus.PENDING:
        return f"room already {session.room_status}"
    try:
        ensure_room(session)
    except RoomNotReady:
        return "room still pending"
    return "room ready"


def retire_room(session_id) -> bool:
    """Retire the room of a canceled or ended session. Failures are left for the cleanup job."""
    session = TrainingSession.objects.filter(pk=session_id).first()
    if session is None or session.room_status != RoomStatus.READY or not session.room_id:
        return False
    try:
        get_provider().retire_room(session.room_id)
    except RoomProviderError as exc:
        logger.warning(
            "Retiring the room of session %s failed; cleanup will retry: %s", session_id, exc
        )
        return False
    TrainingSession.objects.filter(pk=session_id, room_status=RoomStatus.READY).update(
        room_status=RoomStatus.DELETED, updated_at=timezone.now()
    )
    return True


def end_call(session_id) -> str:
    """When a live session ends: stop its recording, then remove everyone from the call.

    The recording is stopped first so that its status is ours to record (kicking everyone
    out stops it too, but silently). A provider failure is logged: the session has ended
    either way, the provider closes an empty call by itself and the cleanup job retires
    the room.
    """
    session = TrainingSession.objects.filter(pk=session_id).first()
    if session is None or session.room_status != RoomStatus.READY or not session.room_id:
        return "no room"
    stop_recording(session_id)
    try:
        removed = get_provider().end_call(session.room_id)
    except RoomProviderError as exc:
        logger.warning("Ending the call of session %s failed: %s", session_id, exc)
        return "call not ended"
    return f"call ended, {removed} removed"


def start_recording(session_id) -> bool:
    """Start recording a live session whose ``recording_enabled`` is on. Once per session.

    The session's one recording slot is claimed with a conditional UPDATE before the
    provider is called, so two starters (the start of the session and the provider's
    "call started" webhook) make one recording. If the provider refuses, the claim is
    undone, so that the next "call started" tries again (a recording may need someone in
    the call first). Returns whether a recording was started.
    """
    session = TrainingSession.objects.filter(pk=session_id).first()
    if (
        session is None
        or not session.recording_enabled
        or session.status != SessionStatus.LIVE
        or session.room_status != RoomStatus.READY
        or not session.room_id
    ):
        return False
    previous = session.recording_status
    if previous not in (RecordingStatus.NONE, RecordingStatus.FAILED):
        return False
    claimed = TrainingSession.objects.filter(
        pk=session.pk,
        status=SessionStatus.LIVE,
        recording_status=previous,
        recording_id=session.recording_id,
    ).update(recording_status=RecordingStatus.RECORDING, updated_at=timezone.now())
    if not claimed:
        return False
    try:
        recording = get_provider().start_recording(session.room_id)
    except RoomProviderError as exc:
        logger.warning("Starting the recording of session %s failed: %s", session_id, exc)
        TrainingSession.objects.filter(
            pk=session.pk,
            recording_status=RecordingStatus.RECORDING,
            recording_id=session.recording_id,
        ).update(recording_status=previous, updated_at=timezone.now())
        return False
    # Filtered on the id we claimed with: a webhook about this recording may have stored
    # it (and a later status) already, and it must not be moved back.
    TrainingSession.objects.filter(
        pk=session.pk,
        recording_status=RecordingStatus.RECORDING,
        recording_id=session.recording_id,
    ).update(
        recording_id=recording.recording_id,
        recording_status=recording.status or RecordingStatus.RECORDING,
        recording_url=None,
        updated_at=timezone.now(),
    )
    return True


def stop_recording(session_id) -> bool:
    """Stop the session's recording, if one runs; returns whether one was stopped.

    A recording whose id we never received (its start timed out) is looked up by the
    room. Once stopped it is ``processing`` until the provider says the file is ready
    (by webhook, with the link); the local provider's simulated one is ready at once.
    """
    session = TrainingSession.objects.filter(pk=session_id).first()
    if session is None or not session.room_id:
        return False
    running = session.recording_status == RecordingStatus.RECORDING
    # A start whose answer was lost left the slot empty, yet the provider may be recording.
    maybe_running = session.recording_enabled and session.recording_status in (
        RecordingStatus.NONE,
        RecordingStatus.FAILED,
    )
    if not (running or maybe_running):
        return False
    known_id = session.recording_id if running else None
    try:
        stopped = get_provider().stop_recording(session.room_id, known_id)
    except RoomProviderError as exc:
        logger.warning("Stopping the recording of session %s failed: %s", session_id, exc)
        return False
    if stopped is None:
        # Nothing records any more (it stops by itself when the call empties); the
        # provider's webhook brings the rest.
        return False
    _record_stopped(session, stopped)
    return True


def _record_stopped(session: TrainingSession, stopped: Recording) -> None:
    status = stopped.status
    if status not in _STOPPED_REPLACES:
        # Still "recording" (or a word we do not know) right after a stop that succeeded.
        status = RecordingStatus.PROCESSING
    fields = {"recording_status": status, "updated_at": timezone.now()}
    if stopped.download_url and status == RecordingStatus.READY:
        fields["recording_url"] = stopped.download_url
    TrainingSession.objects.filter(
        pk=session.pk, recording_status__in=_STOPPED_REPLACES[status]
    ).filter(Q(recording_id=stopped.recording_id) | Q(recording_id__isnull=True)).update(
        recording_id=stopped.recording_id, **fields
    )
