"""The django-q2 side of the ZeroDB mirror: the drain task and its schedule.

The task is kicked after every commit that queued an entry (``outbox.kick``) and runs every
minute from a schedule, so a lost kick or a worker that was down only delays delivery.
Two runs at once are safe: each row is leased by one of them (``delivery``).
"""

from __future__ import annotations

import logging

from sessions_app.storage import delivery

logger = logging.getLogger(__name__)

SCHEDULE_NAME = "zerodb_drain"
SCHEDULE_FUNC = "sessions_app.storage.tasks.drain_outbox"


def drain_outbox() -> str:
    """Deliver what is due, for at most ``ZERODB_DRAIN_SECONDS``; returns a summary."""
    report = delivery.drain(seconds=delivery.drain_seconds())
    if report.off:
        return "ZeroDB is off"
    summary = f"delivered {report.delivered}, retrying {report.retrying}, dead {report.dead}"
    if report.stopped_by:
        summary += f"; stopped: {report.stopped_by}"
    if report.rows:
        logger.info("ZeroDB drain: %s", summary)
    return summary


def install_schedule(schedule_model=None) -> bool:
    """Create (or repair) the every-minute schedule, keyed by its name; True if created.

    The schedule lives in the jobs' registry with every other one; this is the entry point
    ``manage.py zerodb init`` uses to repair it.
    """
    from sessions_app.jobs.schedules import install_schedules

    return install_schedules(schedule_model)[SCHEDULE_NAME] == "created"
