"""Nightly cleanup: retire the rooms of finished sessions, archive old ones (SPEC §6).

Rooms: a session that is ``ended`` or ``canceled`` with a ``ready`` room has its room
retired at the provider and marked ``deleted`` (``services.rooms.retire_room``). A unit
claims one session with a conditional UPDATE of ``room_next_attempt_at`` (a lease that is
also the retry time), so two workers never retire the same room; when the provider fails
the room stays ``ready`` and a later run tries again.

Archive: sessions ended or canceled more than 7 days ago get ``archived_at``; they leave
the default listings. Nothing is ever deleted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from sessions_app.jobs.base import JobReport, run_units
from sessions_app.models import RoomStatus, SessionStatus, TrainingSession
from sessions_app.services import rooms as room_service

ARCHIVE_AFTER = timedelta(days=7)
ARCHIVE_BATCH = 500
# After a failed retirement: skipped for the rest of this run, tried again by the next.
RETIRE_RETRY = timedelta(hours=1)

RETIRED, RETIRE_RETRYING, ARCHIVED = "rooms retired", "rooms retrying", "archived"

_FINISHED = (SessionStatus.ENDED, SessionStatus.CANCELED)


def rooms_to_retire(now: datetime):
    """Finished sessions whose room is still up, on the (room_status, start_time) index."""
    return TrainingSession.objects.filter(
        room_status=RoomStatus.READY, status__in=_FINISHED
    ).filter(Q(room_next_attempt_at__isnull=True) | Q(room_next_attempt_at__lte=now))


def retire_next_room(now: datetime, report: JobReport) -> bool:
    """Unit: retire one finished session's room. Returns whether one was due."""
    session_id = (
        rooms_to_retire(now).order_by("start_time", "pk").values_list("pk", flat=True).first()
    )
    if session_id is None:
        return False
    claimed = (
        rooms_to_retire(now).filter(pk=session_id).update(room_next_attempt_at=now + RETIRE_RETRY)
    )
    if not claimed:
        return True  # another worker has it
    if room_service.retire_room(session_id):
        report.add(RETIRED)
    elif TrainingSession.objects.filter(pk=session_id, room_status=RoomStatus.READY).exists():
        # The provider failed (retire_room logged why); the lease is the retry time.
        report.add(RETIRE_RETRYING)
    return True


def to_archive(now: datetime) -> list:
    """Sessions ended or canceled more than ``ARCHIVE_AFTER`` ago and not archived yet.

    Two querysets, one per status, each matching a partial index of the model
    (``session_ended_unarchived_idx``, ``session_canceled_unarch_idx``) that holds only
    the finished sessions not yet archived: the archive reads no history, however long.
    """
    cutoff = now - ARCHIVE_AFTER
    unarchived = TrainingSession.objects.filter(archived_at__isnull=True).order_by()
    return [
        unarchived.filter(status=SessionStatus.ENDED, ended_at__lt=cutoff),
        unarchived.filter(status=SessionStatus.CANCELED, canceled_at__lt=cutoff),
    ]


def archive_next_batch(now: datetime, report: JobReport) -> bool:
    """Unit: archive up to ``ARCHIVE_BATCH`` sessions. Returns whether any were due."""
    for due in to_archive(now):
        batch = list(due.values_list("pk", flat=True)[:ARCHIVE_BATCH])
        if batch:
            # Conditional on archived_at: a second worker archiving the same rows changes
            # none.
            archived = due.filter(pk__in=batch).update(archived_at=now, updated_at=now)
            report.add(ARCHIVED, archived)
            return True
    return False


def run(now: datetime | None = None, **limits) -> JobReport:
    """One run: retire the rooms first (their sessions may be archived in the same run)."""
    now = now or timezone.now()
    report = JobReport("cleanup", (RETIRED, RETIRE_RETRYING, ARCHIVED))
    run_units(lambda: retire_next_room(now, report), report, **limits)
    if not report.stopped:
        run_units(lambda: archive_next_batch(now, report), report, **limits)
    return report
