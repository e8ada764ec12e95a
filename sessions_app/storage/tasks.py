"""The django-q2 side of the ZeroDB mirror: the drain task and its schedule.

The task is kicked after every commit that queued an entry (``outbox.kick``) and runs every
minute from a schedule, so a lost kick or a worker that was down only delays delivery.
Two runs at once are safe: each row is leased by one of them (``delivery``).
"""

from __future__ import annotations

import logging

from sessions_app.storage import delivery

logger = logging.getLogger(__name__)

SCHEDULE_NAME = "ZeroDB: drain the outbox"
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

    Idempotent: running it again, or running migrations again, never adds a second one.
    ``schedule_model`` is the historical model when called from a migration.
    """
    if schedule_model is None:
        from django_q.models import Schedule as schedule_model

    minutes = "I"  # Schedule.MINUTES; the historical model has no constants
    existing = list(schedule_model.objects.filter(name=SCHEDULE_NAME).order_by("pk"))
    for duplicate in existing[1:]:
        duplicate.delete()
    if existing:
        schedule = existing[0]
        if (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) != (
            SCHEDULE_FUNC,
            minutes,
            1,
            -1,
        ):
            schedule.func = SCHEDULE_FUNC
            schedule.schedule_type = minutes
            schedule.minutes = 1
            schedule.repeats = -1
            schedule.save()
        return False
    schedule_model.objects.create(
        name=SCHEDULE_NAME, func=SCHEDULE_FUNC, schedule_type=minutes, minutes=1, repeats=-1
    )
    return True
