"""The video provider's webhooks: verify, store once, answer fast, handle in a task.

``receive`` runs in the request: it verifies the signature over the raw body, stores the
delivery under its unique id (a re-delivery of a stored id changes nothing) and queues
``process_delivery`` with django-q2. The task claims the delivery with a conditional
UPDATE inside the transaction that does the work, so two workers running it at once, or
Cloudflare re-delivering it, apply it once.

What each event does:

* ``meeting.participantJoined`` / ``participantLeft``: the attendance row of the user named
  by ``customParticipantId`` (our user id), one row per (session, user), its segments
  opened and closed by ``sessions_app.services.joining`` (``open_segment``,
  ``leave_session``), which our own join and leave use too;
* ``meeting.started`` / ``meeting.ended``: a ``RoomCall`` row. The end of a call (e.g.
  ``ALL_PARTICIPANTS_LEFT``) never ends the training session: only the instructor, an
  admin or the auto-end job do that. A call that starts in a live session whose
  recording should run but does not (its start was refused) queues the recording;
* ``recording.statusUpdate``: the session's ``recording_*`` fields.

An event about a room, user or recording we do not know is logged and acknowledged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from sessions_app.models import (
    RecordingStatus,
    RoomCall,
    SessionAttendance,
    SessionStatus,
    TrainingSession,
    WebhookDelivery,
)
from sessions_app.queueing import enqueue
from sessions_app.rooms import (
    RoomProviderError,
    RoomProviderUnavailable,
    WebhookEvent,
    WebhookEventKind,
    WebhookPayloadInvalid,
    get_provider,
)
from sessions_app.services import rooms as room_service
from sessions_app.services.errors import Conflict
from sessions_app.services.joining import leave_session, open_segment, present_from

logger = logging.getLogger(__name__)

PROCESS_TASK = "sessions_app.webhooks.process_delivery"

# How far along a recording is. For one recording the status only moves forward, so a
# late "recording" update cannot undo "ready"; a finished file outranks a failure report.
_RECORDING_RANK = {
    RecordingStatus.NONE: 0,
    RecordingStatus.RECORDING: 1,
    RecordingStatus.PROCESSING: 2,
    RecordingStatus.FAILED: 3,
    RecordingStatus.READY: 4,
}


@dataclass(frozen=True)
class Receipt:
    """What the endpoint answers: the delivery's id and whether we had it already."""

    delivery_id: str
    event: str
    duplicate: bool


def receive(body: bytes, headers: Mapping[str, str]) -> Receipt:
    """Verify and store one delivery, and queue its handling. Fast: no handler runs here.

    Raises the provider's ``WebhookSignatureMissing`` / ``WebhookSignatureInvalid`` /
    ``WebhookPayloadInvalid`` / ``RoomProviderNotSupported``, or ``RoomProviderUnavailable``
    when the delivery cannot be checked or queued now (Cloudflare re-delivers after a 5xx).
    """
    provider = get_provider()
    event = provider.receive_webhook(body, headers)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookPayloadInvalid("The webhook body is not UTF-8.") from None
    with transaction.atomic():
        delivery, created = WebhookDelivery.objects.get_or_create(
            delivery_id=event.delivery_id,
            defaults={"provider": provider.name, "event": event.kind[:64], "body": text},
        )
    if not created and delivery.processed_at is not None:
        logger.info("Webhook delivery %s (%s) was handled already", event.delivery_id, event.kind)
        return Receipt(event.delivery_id, event.kind, duplicate=True)
    try:
        # A stored delivery that was never handled (its task was lost) is queued again
        # on re-delivery; the task's claim makes a second run harmless.
        enqueue(PROCESS_TASK, str(delivery.pk), task_name=f"webhook {event.kind}")
    except Exception as exc:
        if created:
            # Forget it, so that Cloudflare's re-delivery after our 503 is accepted.
            WebhookDelivery.objects.filter(pk=delivery.pk, processed_at__isnull=True).delete()
        raise RoomProviderUnavailable("The webhook could not be queued.") from exc
    return Receipt(event.delivery_id, event.kind, duplicate=not created)


def process_delivery(delivery_pk: str) -> str:
    """The background task: handle one stored delivery once. Returns what it did."""
    with transaction.atomic():
        claimed = WebhookDelivery.objects.filter(pk=delivery_pk, processed_at__isnull=True).update(
            processed_at=timezone.now()
        )
        if not claimed:
            return "already handled"
        delivery = WebhookDelivery.objects.get(pk=delivery_pk)
        try:
            event = get_provider().parse_webhook(
                delivery.body.encode("utf-8"), delivery_id=delivery.delivery_id
            )
        except RoomProviderError as exc:
            outcome = f"ignored: {exc}"
        else:
            outcome = handle_event(event)
        WebhookDelivery.objects.filter(pk=delivery_pk).update(outcome=outcome[:200])
    return outcome


def handle_event(event: WebhookEvent) -> str:
    """Apply one verified event to our rows; returns a short note of what happened."""
    handler = _HANDLERS.get(event.kind)
    if handler is None:
        return f"ignored: {event.kind} is not handled"
    return handler(event)


def _session_for(event: WebhookEvent) -> TrainingSession | None:
    session = (
        TrainingSession.objects.filter(room_id=event.room_id).first() if event.room_id else None
    )
    if session is None:
        logger.warning("Webhook %s names an unknown room %r", event.kind, event.room_id)
    return session


def _user_for(event: WebhookEvent):
    User = get_user_model()
    try:
        pk = User._meta.pk.to_python(event.user_ref) if event.user_ref else None
    except ValidationError:
        pk = None
    user = User.objects.filter(pk=pk).first() if pk is not None else None
    if user is None:
        logger.warning(
            "Webhook %s names an unknown participant %r in room %r",
            event.kind,
            event.user_ref,
            event.room_id,
        )
    return user


def _participant_joined(event: WebhookEvent) -> str:
    """Open (or keep open) the user's present segment, on the row a join would use."""
    session = _session_for(event)
    user = _user_for(event) if session else None
    if session is None or user is None:
        return "ignored: unknown room or user"
    if session.is_finished:
        # Its attendance was closed when it ended; a segment opened now would never close.
        return "ignored: the session is over"
    at = event.occurred_at or timezone.now()
    with transaction.atomic():
        attendance, created = SessionAttendance.objects.select_for_update().get_or_create(
            session=session, user=user, defaults=present_from(at)
        )
        if created:
            return "attendance opened"
        if attendance.segment_started_at is not None:
            # Already present (our own join opened the segment): the segment stands.
            return "already present"
        if attendance.left_at is not None and attendance.left_at >= at:
            # A later leave is already recorded: this join arrived out of order.
            return "ignored: a later leave is recorded"
        open_segment(attendance, at)
    return "attendance reopened"


def _participant_left(event: WebhookEvent) -> str:
    """Close the user's open segment through ``leave_session``, at the provider's time."""
    session = _session_for(event)
    user = _user_for(event) if session else None
    if session is None or user is None:
        return "ignored: unknown room or user"
    at = event.occurred_at or timezone.now()
    with transaction.atomic():
        attendance = (
            SessionAttendance.objects.select_for_update().filter(session=session, user=user).first()
        )
        if attendance is None:
            return "ignored: the user never joined"
        if attendance.segment_started_at is None:
            return "already left"
        if at < attendance.segment_started_at:
            # This leave ends an earlier segment; the user has come back since.
            return "ignored: the leave is older than the present segment"
        try:
            # By keyword, so a change in the service's argument order cannot swap them.
            leave_session(user=user, session_id=session.pk, now=at)
        except Conflict:
            return "ignored: the user never joined"
    return "attendance closed"


def _meeting_started(event: WebhookEvent) -> str:
    session = _session_for(event)
    if session is None:
        return "ignored: unknown room"
    at = event.occurred_at or timezone.now()
    if event.call_id:
        call, created = RoomCall.objects.get_or_create(
            call_id=event.call_id,
            defaults={"session": session, "room_id": event.room_id, "started_at": at},
        )
        if not created and call.started_at is None:
            RoomCall.objects.filter(pk=call.pk, started_at__isnull=True).update(started_at=at)
    else:
        RoomCall.objects.create(session=session, room_id=event.room_id, started_at=at)
    if (
        session.status == SessionStatus.LIVE
        and session.recording_enabled
        and session.recording_status == RecordingStatus.NONE
    ):
        # The recording did not start with the session (the provider may need someone in
        # the call first): now there is a call. The claim in start_recording keeps it one.
        room_service.queue(room_service.START_RECORDING_TASK, session.pk)
        return "call started, recording queued"
    return "call started"


def _meeting_ended(event: WebhookEvent) -> str:
    """Record the call's end. The training session stays as it is (see the module doc)."""
    session = _session_for(event)
    if session is None:
        return "ignored: unknown room"
    at = event.occurred_at or timezone.now()
    reason = (event.reason or "")[:64]
    open_calls = RoomCall.objects.filter(session=session, ended_at__isnull=True)
    call = None
    if event.call_id:
        call = open_calls.filter(call_id=event.call_id).first()
    if call is None:
        call = open_calls.filter(room_id=event.room_id).order_by("-created_at").first()
    if call is None:
        # The start never reached us (or came in later); the end is still worth keeping.
        RoomCall.objects.create(
            session=session,
            room_id=event.room_id,
            call_id=None,
            ended_at=at,
            end_reason=reason,
        )
    else:
        RoomCall.objects.filter(pk=call.pk, ended_at__isnull=True).update(
            ended_at=at, end_reason=reason
        )
    return f"call ended ({reason or 'no reason given'})"


def _recording_status(event: WebhookEvent) -> str:
    """Move the session's recording fields, forward only for the same recording."""
    recording = event.recording
    if recording is None or not recording.status:
        return "ignored: unknown recording status"
    session = (
        TrainingSession.objects.filter(room_id=event.room_id).first() if event.room_id else None
    ) or TrainingSession.objects.filter(recording_id=recording.recording_id).first()
    if session is None:
        logger.warning("Recording %s of an unknown room %r", recording.recording_id, event.room_id)
        return "ignored: unknown room"
    url = recording.download_url
    max_length = TrainingSession._meta.get_field("recording_url").max_length
    if url and len(url) > max_length:
        logger.warning(
            "Recording %s: the download link is too long to keep", recording.recording_id
        )
        url = None
    now = timezone.now()
    fields = {
        "recording_id": recording.recording_id,
        "recording_status": recording.status,
        "updated_at": now,
    }
    if recording.status == RecordingStatus.READY:
        fields["recording_url"] = url
    rank = _RECORDING_RANK[RecordingStatus(recording.status)]
    not_later = [status for status, r in _RECORDING_RANK.items() if r <= rank]
    same = TrainingSession.objects.filter(
        pk=session.pk, recording_id=recording.recording_id, recording_status__in=not_later
    ).update(**fields)
    if same:
        return f"recording {recording.status}"
    # Another recording of the room (or ours, whose start answer we never got) takes the
    # session's one recording slot; the link of the previous one no longer applies.
    other = (
        TrainingSession.objects.filter(pk=session.pk)
        .exclude(recording_id=recording.recording_id)
        .update(**{"recording_url": None, **fields})
    )
    if other:
        return f"recording {recording.status}"
    return "ignored: the recording is further along already"


_HANDLERS: dict[str, Callable[[WebhookEvent], str]] = {
    WebhookEventKind.PARTICIPANT_JOINED: _participant_joined,
    WebhookEventKind.PARTICIPANT_LEFT: _participant_left,
    WebhookEventKind.MEETING_STARTED: _meeting_started,
    WebhookEventKind.MEETING_ENDED: _meeting_ended,
    WebhookEventKind.RECORDING_STATUS: _recording_status,
}
