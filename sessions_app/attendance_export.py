"""Attendance as CSV, streamed row by row so a large class never sits in memory whole."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.utils import timezone

from sessions_app.models import SessionAttendance

HEADER = ["session", "session_start", "name", "username", "joined_at", "left_at", "watch_minutes"]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _iso(value, tz) -> str:
    return timezone.localtime(value, tz).isoformat() if value else ""


def attendance_csv_rows(session_ids: Iterable, tz, now=None) -> Iterator[str]:
    """Yield CSV lines: a header, then one line per attendee of the given sessions."""
    now = now or timezone.now()
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    rows = (
        SessionAttendance.objects.filter(session_id__in=list(session_ids))
        .select_related("user", "session")
        .order_by("session__start_time", "session_id", "joined_at")
    )
    for row in rows.iterator(chunk_size=500):
        yield writer.writerow(
            [
                _safe(row.session.title),
                _iso(row.session.start_time, tz),
                _safe(row.user.display_name),
                _safe(row.user.username),
                _iso(row.joined_at, tz),
                _iso(row.left_at, tz),
                round(row.watch_seconds_at(now) / 60, 1),
            ]
        )


# A cell starting with one of these may run as a formula when the file is opened in a
# spreadsheet (OWASP "CSV injection" lists tab and carriage return beside = + - @).
_FORMULA_STARTS = frozenset({"=", "+", "-", "@", "\t", "\r"})


def _safe(value: str) -> str:
    """Prefix a cell that a spreadsheet would run as a formula, so it shows as text."""
    return f"'{value}" if value[:1] in _FORMULA_STARTS else value
