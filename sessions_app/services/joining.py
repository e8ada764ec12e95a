"""Joining and leaving a session's room, and presence (SPEC §3, §5).

A join is the ``can_join`` check plus taking a seat, in one transaction that holds the
session's row lock (PostgreSQL) or the database write lock (SQLite, whose transactions
begin IMMEDIATE), so the seat count read inside it cannot change before the seat is taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from sessions_app.models import RoomStatus, SessionAttendance, TrainingSession
from sessions_app.rooms import JoinCredentials, RoomProviderError, get_provider
from sessions_app.services import rooms as room_service
from sessions_app.services.eligibility import MESSAGES, JoinDecision, Reason, can_join
from sessions_app.services.errors import Conflict, RoomNotReady, SessionError
from wwmaa import roles


class JoinRefused(SessionError):
    """``can_join`` said no; ``code`` is the reason and ``decision`` the whole answer."""

    def __init__(self, decision: JoinDecision):
        super().__init__(decision.message, decision.reason, decision=decision.as_dict())
        self.decision = decision


@dataclass(frozen=True)
class JoinResult:
    session: TrainingSession
    attendance: SessionAttendance
    credentials: JoinCredentials
    rejoined: bool


def room_role(session: TrainingSession, user) -> str:
    """The instructor and admins host the room; everyone else takes part."""
    return "host" if roles.owns(user, session) or roles.is_admin(user) else "participant"


def join_session(session_id, user, *, now: datetime | None = None) -> JoinResult:
    """Take (or keep) a seat in the session and return the room credentials.

    Raises ``JoinRefused`` with the ``can_join`` reason when the user may not join.
    """
    now = now or timezone.now()
    session = TrainingSession.objects.get(pk=session_id)
    decision = can_join(session, user, now=now)
    if not decision.can_join and decision.reason != Reason.ROOM_NOT_READY:
        raise JoinRefused(decision)
    if session.room_status != RoomStatus.READY:
        try:
            room_service.ensure_room(session)
        except RoomNotReady:
            raise JoinRefused(
                JoinDecision(False, Reason.ROOM_NOT_READY, MESSAGES[Reason.ROOM_NOT_READY])
            ) from None

    with transaction.atomic():
        session = TrainingSession.objects.select_for_update().get(pk=session_id)
        attendance = (
            SessionAttendance.objects.select_for_update().filter(session=session, user=user).first()
        )
        decision = can_join(session, user, now=now, user_holds_seat=attendance is not None)
        if not decision.can_join:
            raise JoinRefused(decision)
        rejoined = attendance is not None
        if attendance is None:
            attendance = SessionAttendance.objects.create(
                session=session,
                user=user,
                joined_at=now,
                segment_started_at=now,
                last_seen_at=now,
            )
        else:
            if attendance.segment_started_at is None:
                attendance.segment_started_at = now
                attendance.left_at = None
            # Joining again while present (a second tab) keeps the segment that is open.
            attendance.last_seen_at = now
            attendance.save(
                update_fields=["segment_started_at", "left_at", "last_seen_at", "updated_at"]
            )

    try:
        credentials = get_provider().join_credentials(session, user, room_role(session, user))
    except RoomProviderError as exc:
        raise JoinRefused(
            JoinDecision(False, Reason.ROOM_NOT_READY, MESSAGES[Reason.ROOM_NOT_READY])
        ) from exc
    return JoinResult(session, attendance, credentials, rejoined)


def leave_session(session_id, user, *, now: datetime | None = None) -> SessionAttendance:
    """Close the user's open segment, adding it to their watch time. The seat is kept.

    Leaving twice is harmless: the second call finds no open segment and changes nothing.
    """
    now = now or timezone.now()
    with transaction.atomic():
        attendance = (
            SessionAttendance.objects.select_for_update()
            .filter(session_id=session_id, user=user)
            .first()
        )
        if attendance is None:
            raise Conflict("You have not joined this session.", "not_joined")
        if attendance.segment_started_at is not None:
            attendance.watch_time_seconds = attendance.watch_seconds_at(now)
            attendance.segment_started_at = None
            attendance.left_at = now
            attendance.last_seen_at = now
            attendance.save(
                update_fields=[
                    "watch_time_seconds",
                    "segment_started_at",
                    "left_at",
                    "last_seen_at",
                    "updated_at",
                ]
            )
    return attendance


def record_presence(session_id, user, *, now: datetime | None = None) -> bool:
    """A heartbeat from the room page: the user is still there. Returns whether it counted."""
    now = now or timezone.now()
    return bool(
        SessionAttendance.objects.filter(
            session_id=session_id, user=user, segment_started_at__isnull=False
        ).update(last_seen_at=now, updated_at=now)
    )
