"""django-q2 entry points: each runs one tick of a job and returns its summary.

The schedules (``sessions_app.jobs.schedules``) call the four jobs; ``deliver_emails`` is
queued by the cancel and reschedule notices. The result string is what django-q2 keeps
and shows in the admin's task lists, and what ``manage.py runjob`` prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.utils import timezone

from sessions_app.jobs import auto_end as auto_end_job
from sessions_app.jobs import cleanup as cleanup_job
from sessions_app.jobs import mail, schedules
from sessions_app.jobs import reminders as reminders_job
from sessions_app.jobs import rooms as rooms_job
from sessions_app.jobs.base import JobReport

# The jobs by name: the names of their schedules and of ``runjob``'s argument.
JOBS: dict[str, Callable[..., JobReport]] = {
    "ensure_rooms": rooms_job.run,
    "reminders": reminders_job.run,
    "auto_end": auto_end_job.run,
    "cleanup": cleanup_job.run,
}


def ensure_rooms() -> str:
    """Every 5 minutes: rooms for the sessions starting within two hours."""
    return str(rooms_job.run())


def reminders() -> str:
    """Every 5 minutes: due reminders, and queued emails whose time has come."""
    return str(reminders_job.run())


def auto_end() -> str:
    """Every 5 minutes: end the sessions 30 minutes past their end."""
    return str(auto_end_job.run())


def cleanup() -> str:
    """Daily at 02:00 (site zone): retire finished rooms, archive old sessions."""
    now = timezone.now()
    try:
        return str(cleanup_job.run(now))
    finally:
        # Keeps the daily run at 02:00 local across daylight-saving changes.
        schedules.reanchor("cleanup", now=now)


def deliver_emails(email_ids: Iterable[str]) -> str:
    """Send queued notices now (a cancel or a move has just queued them).

    Claims the rows with one conditional UPDATE, committed when ``claim_queued`` returns
    (a worker runs in autocommit), and only then sends. Rows another worker claimed
    first (the reminders tick also sends queued rows) are left to it.
    """
    now = timezone.now()
    ids = list(email_ids)
    report = mail.new_report("deliver_emails")
    token = mail.claim_queued(now, ids=ids, limit=max(1, len(ids)))
    if token is not None:
        mailer = mail.Mailer()
        try:
            mail.deliver(token, now=now, mailer=mailer, report=report)
        finally:
            mailer.close()
    return str(report)
