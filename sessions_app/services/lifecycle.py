"""Creating, changing, canceling, starting and ending training sessions (SPEC §3–4).

Every state change is one conditional UPDATE whose row count decides who won, so two
concurrent starts, or an end racing the auto-end job, leave one winner and a clear error
for the other, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format

from sessions_app import notifications
from sessions_app.models import (
    HOST_JOIN_LEAD,
    EndReason,
    SessionAttendance,
    SessionStatus,
    TrainingSession,
)
from sessions_app.services import rooms as room_service
from sessions_app.services.errors import Conflict, LoginRequired, NotAllowed
from sessions_app.services.validation import clean_session_fields
from wwmaa import roles

logger = logging.getLogger(__name__)

# What may still change while a session is live.
LIVE_EDITABLE_FIELDS = frozenset({"title", "description", "chat_enabled"})

_STATUS_CONFLICTS = {
    SessionStatus.SCHEDULED: ("not_live", "The session has not started."),
    SessionStatus.LIVE: ("already_live", "The session is already live."),
    SessionStatus.ENDED: ("session_ended", "The session has ended."),
    SessionStatus.CANCELED: ("session_canceled", "The session was canceled."),
}


def status_conflict(status: str) -> Conflict:
    """The error for an operation refused because the session is in ``status``."""
    code, message = _STATUS_CONFLICTS[SessionStatus(status)]
    return Conflict(message, code, status=status)


def _require_login(actor) -> None:
    if actor is None or not actor.is_authenticated:
        raise LoginRequired("Log in first.")


def _describe(session: TrainingSession, tz) -> str:
    start = timezone.localtime(session.start_time, tz)
    end = timezone.localtime(session.end_time, tz)
    # Across a DST change the two ends have different offsets; name both so neither
    # time is read in the wrong one.
    if start.tzname() == end.tzname():
        span = f"{date_format(start, 'D j M Y, H:i')}–{date_format(end, 'H:i')} {end.tzname()}"
    else:
        span = (
            f"{date_format(start, 'D j M Y, H:i')} {start.tzname()}–"
            f"{date_format(end, 'H:i')} {end.tzname()}"
        )
    return f"“{session.title}” ({span})"


def _check_overlap(instructor, start: datetime, end: datetime, exclude_pk=None, tz=None) -> None:
    """Refuse when the instructor already has a non-canceled session in [start, end).

    Callers hold a lock on the instructor's row, so two requests for one instructor are
    checked one after the other.
    """
    others = TrainingSession.objects.filter(instructor=instructor).overlapping(start, end)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    other = others.order_by("start_time").first()
    if other is not None:
        raise Conflict(
            f"This overlaps {_describe(other, tz or instructor.zoneinfo)}, another session "
            f"of {instructor.display_name}.",
            "overlap",
            conflicting_session_id=str(other.pk),
            conflicting_session_title=other.title,
        )


def _lock_instructor(instructor) -> None:
    # Serializes schedule changes per instructor so the overlap check cannot race.
    list(get_user_model().objects.select_for_update().filter(pk=instructor.pk).values("pk"))


def _clean_for_create(actor, data: dict[str, Any], now: datetime) -> TrainingSession:
    _require_login(actor)
    if not roles.can_create_sessions(actor):
        raise NotAllowed("Only instructors, board members and admins can create sessions.")
    fields = clean_session_fields(data, actor=actor, creating=True, now=now)
    fields.setdefault("instructor", actor)
    session = TrainingSession(**fields)
    session.end_time = session.compute_end_time()
    return session


def _plan_update(
    actor, session: TrainingSession, data: dict[str, Any], now: datetime, *, lock: bool
) -> dict[str, Any]:
    """Check a change against every rule and return the fields that really change."""
    _require_login(actor)
    if not roles.can_manage_session(actor, session):
        raise NotAllowed("Only the session's instructor, board members and admins can change it.")
    if session.is_finished:
        raise status_conflict(session.status)
    fields = clean_session_fields(
        data, actor=actor, creating=False, now=now, current_start_time=session.start_time
    )
    changed = {name: value for name, value in fields.items() if getattr(session, name) != value}
    if session.status == SessionStatus.LIVE:
        locked = sorted(set(changed) - LIVE_EDITABLE_FIELDS)
        if locked:
            raise Conflict(
                "While a session is live only its title, description and chat can "
                f"change (not: {', '.join(locked)}).",
                "session_live",
                fields=locked,
            )
    if changed.get("capacity") is not None:
        seated = session.attendance.exclude(user_id=session.instructor_id).count()
        if changed["capacity"] < seated:
            raise ValidationError(
                {"capacity": f"{seated} people already hold a seat; the capacity cannot be lower."}
            )
    if {"start_time", "duration_minutes", "instructor"} & set(changed):
        instructor = changed.get("instructor", session.instructor)
        start = changed.get("start_time", session.start_time)
        duration = changed.get("duration_minutes", session.duration_minutes)
        if lock:
            _lock_instructor(instructor)
        _check_overlap(
            instructor,
            start,
            start + timedelta(minutes=duration),
            exclude_pk=session.pk,
            tz=actor.zoneinfo,
        )
    return changed


def validate_session_input(
    actor, data: dict[str, Any], *, session: TrainingSession | None = None, now=None
) -> None:
    """Check a create (``session`` None) or a change without writing anything.

    Raises what ``create_session`` / ``update_session`` would raise, so forms can show
    the errors next to the fields before saving.
    """
    now = now or timezone.now()
    if session is None:
        planned = _clean_for_create(actor, data, now)
        _check_overlap(planned.instructor, planned.start_time, planned.end_time, tz=actor.zoneinfo)
    else:
        _plan_update(actor, session, data, now, lock=False)


def create_session(actor, data: dict[str, Any], *, now: datetime | None = None):
    """Create a scheduled session from API-style input (``event_id``, ``title``, …).

    The room is not created here: once the session is committed a task asks the provider
    for one. Until it succeeds ``room_status`` stays ``pending``, and the ensure-rooms job,
    a start or a join creates it.
    """
    now = now or timezone.now()
    session = _clean_for_create(actor, data, now)
    with transaction.atomic():
        _lock_instructor(session.instructor)
        _check_overlap(session.instructor, session.start_time, session.end_time, tz=actor.zoneinfo)
        session.save()
        room_service.queue(room_service.CREATE_ROOM_TASK, session.pk)
    return session


def update_session(
    actor, session_id, data: dict[str, Any], *, now: datetime | None = None
) -> TrainingSession:
    """Change a session under the lifecycle rules; every rule of creation applies.

    ``data`` holds the fields to change (a full PUT may repeat unchanged values). The row
    is locked while it is checked and written, and only changed fields are written, so a
    concurrent lifecycle transition is never overwritten.
    """
    now = now or timezone.now()
    with transaction.atomic():
        session = TrainingSession.objects.select_for_update().get(pk=session_id)
        changed = _plan_update(actor, session, data, now, lock=True)
        old_start = session.start_time
        if {"start_time", "duration_minutes"} & set(changed):
            # The calendar entry's SEQUENCE: read and bumped under the row lock.
            changed["schedule_version"] = session.schedule_version + 1
        for name, value in changed.items():
            setattr(session, name, value)
        if changed:
            session.save(update_fields=[*changed, "updated_at"])
        if "start_time" in changed:
            transaction.on_commit(lambda: notifications.session_rescheduled(session.pk, old_start))
    return session


def cancel_session(actor, session_id, *, now: datetime | None = None) -> TrainingSession:
    """Cancel a scheduled session. The row stays; its room is retired after commit."""
    now = now or timezone.now()
    _require_login(actor)
    session = TrainingSession.objects.get(pk=session_id)
    if not roles.can_manage_session(actor, session):
        raise NotAllowed("Only the session's instructor, board members and admins can cancel it.")
    with transaction.atomic():
        won = TrainingSession.objects.filter(pk=session.pk, status=SessionStatus.SCHEDULED).update(
            status=SessionStatus.CANCELED, canceled_at=now, updated_at=now
        )
        if not won:
            raise status_conflict(
                TrainingSession.objects.values_list("status", flat=True).get(pk=session.pk)
            )
        room_service.queue(room_service.RETIRE_ROOM_TASK, session.pk)
        transaction.on_commit(lambda: notifications.session_canceled(session.pk))
    session.refresh_from_db()
    return session


def _check_startable(session: TrainingSession, now: datetime) -> None:
    """Refuse a start from any status but scheduled, or outside the host window."""
    if session.status != SessionStatus.SCHEDULED:
        raise status_conflict(session.status)
    if now < session.host_window_opens_at:
        raise Conflict(
            "The session can be started from 30 minutes before its start time.",
            "too_early",
            opens_at=session.host_window_opens_at.isoformat(),
        )
    if now >= session.end_time:
        raise Conflict("The session's time is over; it can no longer start.", "too_late")


def start_session(actor, session_id, *, now: datetime | None = None) -> TrainingSession:
    """Go live: the owner or an admin, from 30 minutes before the start until the end."""
    now = now or timezone.now()
    _require_login(actor)
    session = TrainingSession.objects.get(pk=session_id)
    if not roles.can_run_session(actor, session):
        raise NotAllowed("Only the session's instructor or an admin can start it.")
    _check_startable(session, now)
    # Outside the transaction: creating a room may call a provider over the network.
    room_service.ensure_room(session)
    # The window is checked again in the UPDATE itself: the session may have been moved
    # while the room was being created, and it must never go live outside its new times.
    won = TrainingSession.objects.filter(
        pk=session.pk,
        status=SessionStatus.SCHEDULED,
        start_time__lte=now + HOST_JOIN_LEAD,
        end_time__gt=now,
    ).update(status=SessionStatus.LIVE, started_at=now, updated_at=now)
    if not won:
        # Lost to a concurrent start, cancel or move: explain with the row as it is now.
        session.refresh_from_db()
        _check_startable(session, now)
        raise Conflict("The session changed meanwhile; please try again.", "conflict")
    session.refresh_from_db()
    if session.recording_enabled:
        room_service.queue(room_service.START_RECORDING_TASK, session.pk)
    return session


def end_session(actor, session_id, *, now: datetime | None = None) -> TrainingSession:
    """End a live session: the owner (reason ``instructor``) or an admin (``admin``)."""
    now = now or timezone.now()
    _require_login(actor)
    session = TrainingSession.objects.get(pk=session_id)
    if not roles.can_run_session(actor, session):
        raise NotAllowed("Only the session's instructor or an admin can end it.")
    reason = EndReason.INSTRUCTOR if roles.owns(actor, session) else EndReason.ADMIN
    if not finish_session(session.pk, from_status=SessionStatus.LIVE, reason=reason, now=now):
        raise status_conflict(
            TrainingSession.objects.values_list("status", flat=True).get(pk=session.pk)
        )
    session.refresh_from_db()
    return session


def finish_session(session_id, *, from_status: str, reason: str, now: datetime) -> bool:
    """Move a session from ``from_status`` to ``ended`` and close its open attendance.

    Returns whether this call won; the loser of a race changes nothing. Shared by the
    instructor's end and the auto-end job.
    """
    with transaction.atomic():
        won = TrainingSession.objects.filter(pk=session_id, status=from_status).update(
            status=SessionStatus.ENDED, ended_at=now, end_reason=reason, updated_at=now
        )
        if not won:
            return False
        close_open_attendance(session_id, now)
        if from_status == SessionStatus.LIVE:
            room_service.queue(room_service.END_CALL_TASK, session_id)
    return True


def close_open_attendance(session_id, now: datetime) -> int:
    """Close every open segment of the session at ``now``; returns how many were open."""
    rows = list(
        SessionAttendance.objects.select_for_update().filter(
            session_id=session_id, segment_started_at__isnull=False
        )
    )
    for row in rows:
        row.watch_time_seconds = row.watch_seconds_at(now)
        # As a leave does: a segment whose heartbeats stopped ended where it stopped counting.
        row.left_at = row.counted_until(now)
        row.segment_started_at = None
        row.updated_at = now
    SessionAttendance.objects.bulk_update(
        rows, ["watch_time_seconds", "segment_started_at", "left_at", "updated_at"]
    )
    return len(rows)
