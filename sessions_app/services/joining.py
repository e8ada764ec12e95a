"""Joining and leaving a session's room, and presence (SPEC §3, §5).

A join is the ``can_join`` check plus taking a seat, in one transaction that holds the
session's row lock (PostgreSQL) or the database write lock (SQLite, whose transactions
begin IMMEDIATE), so the seat count read inside it cannot change before the seat is taken.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.db import connections, transaction
from django.utils import timezone

from sessions_app.models import (
    PRESENCE_GRACE,
    RoomParticipant,
    RoomStatus,
    SessionAttendance,
    TrainingSession,
)
from sessions_app.rooms import JoinCredentials, RoomProviderError, RoomRole, get_provider
from sessions_app.services import rooms as room_service
from sessions_app.services.eligibility import (
    MESSAGES,
    Caller,
    JoinDecision,
    Reason,
    can_join,
    seat_counts_sql,
    seats_now,
    session_with_seats,
)
from sessions_app.services.errors import Conflict, LoginRequired, RoomNotReady, SessionError
from sessions_app.storage.tracking import queue_saved
from wwmaa import roles
from wwmaa.rows import model_rows


class JoinRefused(SessionError):
    """``can_join`` said no; ``code`` is the reason and ``decision`` the whole answer
    (the API writes it out with ``can_join_data``)."""

    def __init__(self, decision: JoinDecision):
        super().__init__(decision.message, decision.reason)
        self.decision = decision


@dataclass(frozen=True)
class JoinResult:
    session: TrainingSession
    attendance: SessionAttendance
    credentials: JoinCredentials
    rejoined: bool


def room_role(session: TrainingSession, user) -> str:
    """The instructor and admins host the room; everyone else takes part."""
    if roles.owns(user, session) or roles.is_admin(user):
        return RoomRole.HOST
    return RoomRole.PARTICIPANT


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

    ``session_id`` may also be the session itself, just read through
    ``session_with_seats`` (the API reads it so to check that the caller may see it): it
    is then not read again before the early check.
    Raises ``JoinRefused`` with the ``can_join`` reason when the user may not join. A
    ``room_not_ready`` answer is the one refusal a join may overcome: it tries to create
    the room itself (a pending one, or a failed one whose provider may be back by now).
    """
    now = now or timezone.now()
    if isinstance(session_id, TrainingSession):
        session = session_id
    else:
        session = session_with_seats(session_id, user)
        if session is None:
            raise TrainingSession.DoesNotExist("No such session.")
    # Refused without the row lock when a plain read says no: "full" (or "ended", …) was
    # the true answer at the instant of the read, and a storm of joins on a full session
    # then never queues behind the lock. Only a join that may succeed takes the lock, and
    # everything is checked again under it.
    decision = _decide(session, user, now)
    if not decision.can_join and decision.reason != Reason.ROOM_NOT_READY:
        raise JoinRefused(decision)
    if session.room_status != RoomStatus.READY:
        # Outside the transaction: creating a room may call the provider over the network.
        try:
            room_service.ensure_room(session)
        except RoomNotReady:
            raise _room_not_ready(decision) from None

    with transaction.atomic():
        session = model_rows(TrainingSession, TrainingSession.objects.db).get(
            session.pk, for_update=True
        )
        if session is None:  # deleted since it was read
            raise TrainingSession.DoesNotExist("No such session.")
        # The seats are counted by a statement of its own after the lock was granted, so
        # it sees every seat taken by the joins that held the lock before this one.
        taken, holds, seat = _count_and_take_seat(session, user, now)
        decision = can_join(session, user, now=now, taken=taken, user_holds_seat=holds)
        if not decision.can_join:
            raise JoinRefused(decision)  # a seat taken above goes with the rollback
        rejoined = holds
        attendance = seat
        if attendance is None and holds:
            attendance = (
                SessionAttendance.objects.select_for_update()
                .filter(session=session, user=user)
                .first()
            )
        previous_left_at = attendance.left_at if attendance is not None else None
        if seat is not None:
            queue_saved(seat, created=True, using=seat._state.db)
            opened_segment = True
        elif attendance is None:
            attendance = SessionAttendance.objects.create(
                session=session, user=user, **present_from(now)
            )
            opened_segment = True
        else:
            opened_segment = open_segment(attendance, now)

    try:
        credentials = _issue_credentials(session, user)
    except RoomProviderError as exc:
        if opened_segment:
            _undo_join(attendance, created=not rejoined, previous_left_at=previous_left_at)
        raise _room_not_ready(decision) from exc
    return JoinResult(session, attendance, credentials, rejoined)


def _count_and_take_seat(
    session: TrainingSession, user, now: datetime
) -> tuple[int, bool, SessionAttendance | None]:
    """Under the session's row lock: the seats taken and whether ``user`` holds one
    (``seats_now``) and, on PostgreSQL, ``user``'s new seat taken in the same statement
    when every rule lets them in. The new row, or None (a rejoin, a refusal, SQLite).

    Every rule but the seats is judged first on the locked row; the statement then
    counts (its snapshot is taken after the lock was granted) and inserts the row only
    when the user holds no seat and one is free (the instructor needs none free): the
    seat rule of ``can_join``. The caller judges again with the counts, and a seat taken
    for a join refused after all goes with the transaction's rollback, so the statement
    can never let more people in than ``can_join`` does. It saves a round trip while the
    lock is held: in a storm of joins every admission holds it in turn, and each round
    trip then delays every join queued behind it (BENCHMARKS.md, P4).
    """
    connection = connections[SessionAttendance.objects.db]
    if (
        connection.vendor != "postgresql"
        or not can_join(session, user, now=now, taken=0, user_holds_seat=True).can_join
    ):
        return (*seats_now(session, user), None)
    seat = SessionAttendance(session=session, user=user, **present_from(now))
    seat.created_at = seat.updated_at = timezone.now()
    fields = SessionAttendance._meta.concrete_fields
    values = [field.get_db_prep_save(getattr(seat, field.attname), connection) for field in fields]
    session_id = TrainingSession._meta.pk.get_db_prep_value(session.pk, connection)
    unlimited = session.capacity is None or Caller.of(user).owns(session)
    # The parameters of seat_counts_sql (as seats_now's), the row, then the seat rule's.
    params = [session_id, session.instructor_id, session_id, user.pk, *values]
    params += [unlimited, session.capacity]
    with connection.cursor() as cursor:
        cursor.execute(_take_seat_sql(connection.alias), params)
        taken, holds, inserted = cursor.fetchone()
    if not inserted:
        return taken, holds, None
    seat._state.adding, seat._state.db = False, connection.alias
    return taken, False, seat


@functools.cache
def _take_seat_sql(alias: str) -> str:
    """``_count_and_take_seat``'s statement, written once per database: the counts of
    ``seats_now`` (``seat_counts_sql``), and the attendance row inserted only when the
    caller holds no seat and one is free or none is needed. Only quoted names from the
    model's meta are formatted in; every value is a parameter."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    opts = SessionAttendance._meta
    columns = ", ".join(quote(field.column) for field in opts.concrete_fields)
    row = ", ".join(["%s"] * len(opts.concrete_fields))
    return (
        f"WITH counted AS (SELECT {seat_counts_sql(connection, '%s', '%s')}), "  # noqa: S608
        f"added AS (INSERT INTO {quote(opts.db_table)} ({columns}) SELECT {row} FROM counted "
        f"WHERE counted.caller_seats = 0 AND (%s OR counted.seats_taken < %s) "
        f"ON CONFLICT DO NOTHING RETURNING 1) "
        f"SELECT counted.seats_taken, counted.caller_seats > 0, EXISTS (SELECT 1 FROM added) "
        f"FROM counted"
    )


def _decide(session: TrainingSession, user, now: datetime) -> JoinDecision:
    """``can_join`` on the seats read with the session (``session_with_seats``)."""
    return can_join(
        session, user, now=now, taken=session.seats_taken, user_holds_seat=session.caller_holds_seat
    )


def room_credentials(user, session_id, *, now: datetime | None = None) -> JoinCredentials:
    """Fresh credentials for someone who already holds a seat: the room page asks on load.

    Unlike a join it takes no seat and changes no attendance (on the Cloudflare provider
    the call itself reports who is in it). Raises ``Conflict`` (``not_joined``) without a
    seat and ``JoinRefused`` when ``can_join`` says no now (the session ended, …) or the
    provider cannot issue them.
    """
    _require_login(user)
    now = now or timezone.now()
    session = TrainingSession.objects.get(pk=session_id)
    if not SessionAttendance.objects.filter(session=session, user=user).exists():
        raise Conflict("You have not joined this session.", "not_joined")
    decision = can_join(session, user, now=now, user_holds_seat=True)
    if not decision.can_join:
        raise JoinRefused(decision)
    if session.room_status != RoomStatus.READY:
        raise _room_not_ready(decision)
    try:
        return _issue_credentials(session, user)
    except RoomProviderError as exc:
        raise _room_not_ready(decision) from exc


def _issue_credentials(session: TrainingSession, user) -> JoinCredentials:
    """Ask the provider for the user's credentials, reusing their participant if known.

    The participant id the provider returns is kept per (session, user), so a rejoin or
    a reload refreshes that participant's token instead of adding a second participant.
    """
    role = room_role(session, user)
    provider = get_provider()
    # A provider without participants of its own (the local one) has nothing to look up.
    known = (
        RoomParticipant.objects.known(session, user, role) if provider.has_participants else None
    )
    credentials = provider.join_credentials(session, user, role, participant_id=known)
    if credentials.participant_id and credentials.participant_id != known:
        RoomParticipant.objects.remember(
            session, user, participant_id=credentials.participant_id, role=role
        )
    return credentials


def present_from(at: datetime) -> dict:
    """The fields of a new attendance row whose user is in the room from ``at``."""
    return {"joined_at": at, "segment_started_at": at, "last_seen_at": at}


def open_segment(attendance: SessionAttendance, at: datetime) -> bool:
    """Mark the row's user present from ``at``; the caller holds the row's lock.

    The one home of "someone entered the room", for our own join and for the provider's
    webhook alike. A segment that is open already stands (a second tab, or the webhook
    of a join made through our page), so no time is counted twice. Saves the row and
    returns whether a new segment was opened.
    """
    opened = attendance.segment_started_at is None
    if opened:
        attendance.segment_started_at = at
        attendance.left_at = None
    if attendance.last_seen_at is None or attendance.last_seen_at < at:
        attendance.last_seen_at = at
    attendance.save(update_fields=["segment_started_at", "left_at", "last_seen_at", "updated_at"])
    return opened


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
            # A page that fell silent before this leave left when its heartbeats stopped.
            attendance.left_at = attendance.counted_until(now)
            attendance.segment_started_at = None
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
    """A heartbeat from the room page: the user is still there. Returns whether it counted.

    Only an open segment counts: after a leave (in this tab or another) the page must
    join again. A heartbeat after a silence longer than ``PRESENCE_GRACE`` (the laptop
    slept, the network dropped) does not fill the silence: the segment is closed where
    the silence began plus the grace, and a new one opens now. Two tabs of one user
    share the one segment, so they count once.
    """
    _require_login(user)
    now = now or timezone.now()
    with transaction.atomic():
        attendance = (
            SessionAttendance.objects.select_for_update()
            .filter(session_id=session_id, user=user, segment_started_at__isnull=False)
            .first()
        )
        if attendance is None:
            return False
        fields = ["last_seen_at", "updated_at"]
        seen = attendance.last_seen_at or attendance.segment_started_at
        if seen + PRESENCE_GRACE < now:
            lapsed_at = max(seen + PRESENCE_GRACE, attendance.segment_started_at)
            attendance.watch_time_seconds += int(
                (lapsed_at - attendance.segment_started_at).total_seconds()
            )
            # The new segment begins a second back: a segment whose last_seen_at is after its
            # start is one the page reports on, which the grace then applies to
            # (SessionAttendance.counted_until) should this tab, too, go silent.
            attendance.segment_started_at = now - timedelta(seconds=1)
            fields += ["watch_time_seconds", "segment_started_at"]
        attendance.last_seen_at = now
        attendance.save(update_fields=fields)
    return True
