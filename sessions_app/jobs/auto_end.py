"""Auto-end: sessions 30 minutes past their end are ended (SPEC §4, §6).

Due at ``now``: a ``live`` or ``scheduled`` session whose ``end_time + 30 minutes <= now``.
A live one ends with ``auto_overdue``, one that never started with ``not_started``. Both
go through ``services.lifecycle.finish_session``, the same conditional UPDATE as the
instructor's end (attendance is closed the same way), so an auto-end racing the
instructor's end or another worker leaves exactly one transition.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from sessions_app.jobs.base import JobReport, run_units
from sessions_app.models import AUTO_END_GRACE, EndReason, SessionStatus, TrainingSession
from sessions_app.services.lifecycle import finish_session

OVERDUE, NOT_STARTED = "ended overdue", "ended not started"

_REASONS = (
    (SessionStatus.LIVE, EndReason.AUTO_OVERDUE, OVERDUE),
    (SessionStatus.SCHEDULED, EndReason.NOT_STARTED, NOT_STARTED),
)


def end_next_overdue(now: datetime, report: JobReport) -> bool:
    """Unit: end the session that has been overdue longest. Returns whether one was due."""
    cutoff = now - AUTO_END_GRACE
    for status, reason, label in _REASONS:
        # On the (status, end_time) index: only the overdue sessions are read.
        session_id = (
            TrainingSession.objects.filter(status=status, end_time__lte=cutoff)
            .order_by("end_time", "pk")
            .values_list("pk", flat=True)
            .first()
        )
        if session_id is not None:
            if finish_session(session_id, from_status=status, reason=reason, now=now):
                report.add(label)
            return True
    return False


def run(now: datetime | None = None, **limits) -> JobReport:
    """One tick: end every overdue session, within the tick's cap and time budget."""
    now = now or timezone.now()
    report = JobReport("auto_end", (OVERDUE, NOT_STARTED))
    return run_units(lambda: end_next_overdue(now, report), report, **limits)
