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


def _safe(value: str) -> str:
    # A cell starting with = + - @ would run as a formula in a spreadsheet.
    return f"'{value}" if value[:1] in {"=", "+", "-", "@"} else value
