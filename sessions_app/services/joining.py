"""Joining and leaving a session's room, and presence (SPEC §3, §5).

A join is the ``can_join`` check plus taking a seat, in one transaction that holds the
session's row lock (PostgreSQL) or the database write lock (SQLite, whose transactions
begin IMMEDIATE), so the seat count read inside it cannot change before the seat is taken.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from sessions_app.models import RoomStatus, SessionAttendance, TrainingSession
from sessions_app.rooms import JoinCredentials, RoomProviderError, get_provider
from sessions_app.services import rooms as room_service
from sessions_app.services.eligibility import MESSAGES, JoinDecision, Reason, can_join
from sessions_app.services.errors import Conflict, LoginRequired, RoomNotReady, SessionError
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


def _room_not_ready(decision: JoinDecision) -> JoinRefused:
    # Keeps the rest of the answer (opens_at, seats_left) so clients can still show it.
    return JoinRefused(
        replace(
            decision,
            can_join=False,
            reason=Reason.ROOM_NOT_READY,
            message=MESSAGES[Reason.ROOM_NOT_READY],
        )
    )


def _require_login(user) -> None:
    # Anonymous visitors have no attendance; without this, the lookups below would fail
    # with a TypeError instead of a refusal the caller can answer.
    if user is None or not user.is_authenticated:
        raise LoginRequired("Log in first.")


def join_session(user, session_id, *, now: datetime | None = None) -> JoinResult:
    """Take (or keep) a seat in the session and return the room credentials.

    Raises ``JoinRefused`` with the ``can_join`` reason when the user may not join. A
    ``room_not_ready`` answer is the one refusal a join may overcome: it tries to create
    the room itself (a pending one, or a failed one whose provider may be back by now).
    """
    now = now or timezone.now()
    session = TrainingSession.objects.get(pk=session_id)
    decision = can_join(session, user, now=now)
    if not decision.can_join and decision.reason != Reason.ROOM_NOT_READY:
        raise JoinRefused(decision)
    if session.room_status != RoomStatus.READY:
        # Outside the transaction: creating a room may call the provider over the network.
        try:
            room_service.ensure_room(session)
        except RoomNotReady:
            raise _room_not_ready(decision) from None

    with transaction.atomic():
        session = TrainingSession.objects.select_for_update().get(pk=session_id)
        attendance = (
            SessionAttendance.objects.select_for_update().filter(session=session, user=user).first()
        )
        decision = can_join(session, user, now=now, user_holds_seat=attendance is not None)
        if not decision.can_join:
            raise JoinRefused(decision)
        rejoined = attendance is not None
        opened_segment = attendance is None or attendance.segment_started_at is None
        previous_left_at = attendance.left_at if attendance is not None else None
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
        if opened_segment:
            _undo_join(attendance, created=not rejoined, previous_left_at=previous_left_at)
        raise _room_not_ready(decision) from exc
    return JoinResult(session, attendance, credentials, rejoined)


def _undo_join(
    attendance: SessionAttendance, *, created: bool, previous_left_at: datetime | None
) -> None:
    """Take back a join whose credentials could not be issued: the user never got in.

    Without this the refused user would keep a seat others could have had and an open
    segment counting watch time. Only the segment this join opened is touched.
    """
    rows = SessionAttendance.objects.filter(
        pk=attendance.pk, segment_started_at=attendance.segment_started_at
    )
    if created:
        rows.delete()
    else:
        rows.update(segment_started_at=None, left_at=previous_left_at, updated_at=timezone.now())


def leave_session(user, session_id, *, now: datetime | None = None) -> SessionAttendance:
    """Close the user's open segment, adding it to their watch time. The seat is kept.

    Leaving twice is harmless: the second call finds no open segment and changes nothing.
    """
    _require_login(user)
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


def record_presence(user, session_id, *, now: datetime | None = None) -> bool:
    """A heartbeat from the room page: the user is still there. Returns whether it counted."""
    _require_login(user)
    now = now or timezone.now()
    return bool(
        SessionAttendance.objects.filter(
            session_id=session_id, user=user, segment_started_at__isnull=False
        ).update(last_seen_at=now, updated_at=now)
    )
