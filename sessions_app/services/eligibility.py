"""Who may join a session, and when (SPEC §5): the ``can_join`` answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connections
from django.utils import timezone

from sessions_app.models import RoomStatus, SessionAttendance, SessionStatus, TrainingSession
from wwmaa import roles
from wwmaa.rows import model_rows


class Reason:
    """Stable reason codes, in the order they are checked."""

    LOGIN_REQUIRED = "login_required"
    CANCELED = "canceled"
    ENDED = "ended"
    NOT_VISIBLE = "not_visible"
    MEMBERS_ONLY = "members_only"
    TOO_EARLY = "too_early"
    TOO_LATE = "too_late"
    FULL = "full"
    ROOM_NOT_READY = "room_not_ready"
    OK = "ok"


MESSAGES = {
    Reason.LOGIN_REQUIRED: "Log in to join this session.",
    Reason.CANCELED: "This session was canceled.",
    Reason.ENDED: "This session has ended.",
    Reason.NOT_VISIBLE: "This session is not available to you.",
    Reason.MEMBERS_ONLY: "This session is for members only.",
    Reason.TOO_EARLY: "Joining opens 10 minutes before the start.",
    Reason.TOO_LATE: "This session never started and its time is over.",
    Reason.FULL: "This session is full.",
    Reason.ROOM_NOT_READY: "The video room is not ready yet. Please try again shortly.",
    Reason.OK: "You can join now.",
}


@dataclass(frozen=True)
class JoinDecision:
    can_join: bool
    reason: str
    message: str
    opens_at: datetime | None = None
    seats_left: int | None = None


@dataclass(frozen=True)
class Caller:
    """What the rules below ask about the caller's role, worked out once.

    A list of sessions asks ``can_join`` for every row with the same caller; working the
    role out once for the list (``can_join(..., caller=Caller.of(user))``) rather than
    several times a row was a tenth of the list's time.
    """

    is_authenticated: bool
    pk: int | None  # None for an anonymous visitor
    is_member: bool
    is_admin: bool

    @classmethod
    def of(cls, user) -> Caller:
        if user is None or not user.is_authenticated:
            return cls(False, None, False, False)
        return cls(True, user.pk, roles.is_member(user), roles.is_admin(user))

    def owns(self, session: TrainingSession) -> bool:
        return self.is_authenticated and session.instructor_id == self.pk

    def may_see(self, session: TrainingSession) -> bool:
        """Members and above see every session; everyone else only public ones."""
        return self.is_member or session.is_public

    def join_opens_at(self, session: TrainingSession) -> datetime:
        """The instructor and admins may come in 30 minutes early; everyone else 10."""
        if self.owns(session) or self.is_admin:
            return session.host_window_opens_at
        return session.join_window_opens_at


def may_see(user, session: TrainingSession) -> bool:
    """Members and above see every session; everyone else only public ones."""
    return Caller.of(user).may_see(session)


def join_opens_at(session: TrainingSession, user) -> datetime:
    """The instructor and admins may come in 30 minutes early; everyone else 10."""
    return Caller.of(user).join_opens_at(session)


def seats_taken(session: TrainingSession) -> int:
    """People other than the instructor who hold a seat (an attendance row)."""
    return (
        SessionAttendance.objects.filter(session_id=session.pk)
        .exclude(user_id=session.instructor_id)
        .count()
    )


def holds_seat(session: TrainingSession, user) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return SessionAttendance.objects.filter(session_id=session.pk, user_id=user.pk).exists()


def seats_taken_sql(connection, session: str, instructor: str) -> str:
    """``seats_taken`` as a SQL ``SELECT COUNT(*)``: the attendance rows of the session
    whose pk is the SQL ``session``, other than those of its instructor (the SQL
    ``instructor``). The one written-out form of the rule, for the queries that count it
    in SQL of their own (a join's reads, the session lists).

    Only quoted names from the model's meta are formatted in; values are the caller's.
    """
    quote = connection.ops.quote_name
    opts = SessionAttendance._meta
    seats = quote(opts.db_table)
    return (
        f"SELECT COUNT(*) FROM {seats} "  # noqa: S608
        f"WHERE {seats}.{quote(opts.get_field('session').column)} = {session} "
        f"AND {seats}.{quote(opts.get_field('user').column)} <> {instructor}"
    )


def seat_counts_sql(connection, session: str, instructor: str) -> str:
    """Two columns, ``seats_taken`` (``seats_taken_sql``) and ``caller_seats`` (the
    caller's own attendance rows), for the session whose pk is the SQL ``session`` and
    whose instructor is ``instructor``. The caller's id is a parameter (``%s``) after
    those of ``session`` and ``instructor``, if they are parameters too. What a join
    counts (``seats_now``, ``session_with_seats``, the seat a join takes in one statement).

    Only quoted names from the model's meta are formatted in; every value is a parameter.
    """
    quote = connection.ops.quote_name
    opts = SessionAttendance._meta
    seats = quote(opts.db_table)
    seat_session = f"{seats}.{quote(opts.get_field('session').column)}"
    seat_user = f"{seats}.{quote(opts.get_field('user').column)}"
    return (
        f"({seats_taken_sql(connection, session, instructor)}) AS seats_taken, "  # noqa: S608
        f"(SELECT COUNT(*) FROM {seats} WHERE {seat_session} = {session} "
        f"AND {seat_user} = %s) AS caller_seats"
    )


def caller_id(user) -> int | None:
    """The id a query takes for ``user``'s own rows: None for a visitor, whose are none."""
    return user.pk if user is not None and user.is_authenticated else None


def seats_now(session: TrainingSession, user) -> tuple[int, bool]:
    """``seats_taken`` and ``holds_seat`` in one statement: (seats taken, user holds one).

    Written out rather than built by the ORM: a join asks this twice (before and under
    the row lock), and building the equivalent ``aggregate`` costs several times more
    than the database takes to answer it.
    """
    connection = connections[SessionAttendance.objects.db]
    sql = f"SELECT {seat_counts_sql(connection, '%s', '%s')}"
    session_id = TrainingSession._meta.pk.get_db_prep_value(session.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [session_id, session.instructor_id, session_id, caller_id(user)])
        taken, mine = cursor.fetchone()
    return taken, mine > 0


def session_with_seats(session_id, user) -> TrainingSession | None:
    """The session with its ``seats_taken`` and ``caller_holds_seat`` (for ``user``), or None.

    What a join decides on before taking the row lock, in one round trip, written out
    like ``seats_now`` and read into the model with ``wwmaa.rows``: about a third cheaper
    than the ORM's read followed by ``seats_now``, and half as much again as ``raw()``.
    Visibility is the caller's to check (``may_see``).
    """
    rows = model_rows(TrainingSession, TrainingSession.objects.db)
    connection = rows.connection
    quote = connection.ops.quote_name
    opts = TrainingSession._meta
    pk_column = f"{rows.table}.{quote(opts.pk.column)}"
    instructor = f"{rows.table}.{quote(opts.get_field('instructor').column)}"
    # Only quoted names from the models' meta are formatted in; every value is a parameter.
    sql = (
        f"SELECT {rows.columns}, {seat_counts_sql(connection, pk_column, instructor)} "  # noqa: S608
        f"FROM {rows.table} WHERE {pk_column} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [caller_id(user), rows.sql_value(opts.pk.name, session_id)])
        row = cursor.fetchone()
    if row is None:
        return None
    session = rows.instance(row)
    session.seats_taken, caller_seats = row[-2:]
    session.caller_holds_seat = caller_seats > 0
    return session


def can_join(
    session: TrainingSession,
    user,
    *,
    now: datetime | None = None,
    taken: int | None = None,
    user_holds_seat: bool | None = None,
    caller: Caller | None = None,
) -> JoinDecision:
    """Answer whether ``user`` may join ``session`` at ``now``, and if not, why.

    ``taken`` and ``user_holds_seat`` may be passed by callers that computed them for a
    whole page in one query, and ``caller`` (``Caller.of(user)``) by callers asking about
    many sessions; otherwise they are looked up here.
    """
    now = now or timezone.now()
    if caller is None:
        caller = Caller.of(user)

    def refuse(reason: str, **extra) -> JoinDecision:
        return JoinDecision(False, reason, MESSAGES[reason], **extra)

    if not caller.is_authenticated:
        return refuse(Reason.LOGIN_REQUIRED)
    if session.status == SessionStatus.CANCELED:
        return refuse(Reason.CANCELED)
    if session.status == SessionStatus.ENDED:
        return refuse(Reason.ENDED)
    if not caller.may_see(session):
        return refuse(Reason.NOT_VISIBLE)
    if session.members_only and not caller.is_member:
        return refuse(Reason.MEMBERS_ONLY)

    opens_at = caller.join_opens_at(session)
    is_host = caller.owns(session)
    seats_left = None
    if session.capacity is not None:
        if taken is None:
            taken = seats_taken(session)
        seats_left = max(session.capacity - taken, 0)

    if session.status == SessionStatus.SCHEDULED:
        if now < opens_at:
            return JoinDecision(
                False,
                Reason.TOO_EARLY,
                MESSAGES[Reason.TOO_EARLY]
                if not (is_host or caller.is_admin)
                else "The instructor and admins may enter from 30 minutes before the start.",
                opens_at=opens_at,
                seats_left=seats_left,
            )
        if now >= session.end_time:
            return refuse(Reason.TOO_LATE, seats_left=seats_left)

    if seats_left is not None and seats_left == 0 and not is_host:
        if user_holds_seat is None:
            user_holds_seat = holds_seat(session, user)
        if not user_holds_seat:
            return refuse(Reason.FULL, opens_at=opens_at, seats_left=0)

    if session.room_status in {RoomStatus.FAILED, RoomStatus.DELETED}:
        # A pending room is created by the join itself; a failed one has exhausted the
        # workers' retries, so it cannot be counted on now.
        return refuse(Reason.ROOM_NOT_READY, opens_at=opens_at, seats_left=seats_left)
    return JoinDecision(True, Reason.OK, MESSAGES[Reason.OK], opens_at, seats_left)
