"""The jobs' django-q2 schedules, installed idempotently after every ``migrate``.

``SCHEDULES`` is the registry: one entry per job, keyed by its name (the same name as
``runjob`` takes, but for the ZeroDB drain, which ``manage.py zerodb push`` runs).
``install_schedules`` creates what is missing, repairs what differs and removes
duplicates, so running ``migrate`` again (or after a ``flush``) never adds a second
schedule.

Daily runs are at a wall-clock time in the site's zone (``settings.TIME_ZONE``). django-q2
moves a daily schedule by 24 hours and then corrects it by the zone's offset change, which
goes wrong on the day a clock springs forward: 02:00 does not exist in Los Angeles or
Berlin that night, the corrected run lands at 01:00 and stays there for good. So the
cleanup task puts its own next run back on 02:00 after every run (``reanchor``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

logger = logging.getLogger(__name__)

# Schedule.MINUTES and Schedule.DAILY; a migration's historical model has no constants.
MINUTES, DAILY = "I", "D"


@dataclass(frozen=True)
class JobSchedule:
    name: str
    func: str
    every_minutes: int | None = None
    daily_at: time | None = None  # wall-clock time in settings.TIME_ZONE

    def fields(self) -> dict:
        """The Schedule fields this entry owns (``next_run`` aside)."""
        if self.daily_at is not None:
            return {"func": self.func, "schedule_type": DAILY, "minutes": None, "repeats": -1}
        return {
            "func": self.func,
            "schedule_type": MINUTES,
            "minutes": self.every_minutes,
            "repeats": -1,
        }

    def first_run(self, now: datetime) -> datetime:
        """When a new schedule first runs: at once, or at the next daily time."""
        if self.daily_at is not None:
            return next_local_time(now, self.daily_at, ZoneInfo(settings.TIME_ZONE))
        return now


SCHEDULES = (
    JobSchedule("ensure_rooms", "sessions_app.tasks.ensure_rooms", every_minutes=5),
    JobSchedule("reminders", "sessions_app.tasks.reminders", every_minutes=5),
    JobSchedule("auto_end", "sessions_app.tasks.auto_end", every_minutes=5),
    JobSchedule("cleanup", "sessions_app.tasks.cleanup", daily_at=time(2, 0)),
    # The ZeroDB mirror's safety net: its drain is also kicked after every change.
    JobSchedule("zerodb_drain", "sessions_app.storage.tasks.drain_outbox", every_minutes=1),
)
BY_NAME = {schedule.name: schedule for schedule in SCHEDULES}


def next_local_time(now: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The first instant after ``now`` whose wall-clock time in ``zone`` is ``at``, in UTC.

    A wall-clock time skipped by a spring-forward change means the instant the clock
    jumps to (02:00 in Los Angeles on that night is 03:00 PDT); a time that occurs twice
    when the clock falls back means its first occurrence, so a daily run happens once.
    """
    local_day = now.astimezone(zone).date()
    for days in (0, 1):
        candidate = datetime.combine(local_day + timedelta(days=days), at, tzinfo=zone)
        # Through UTC: zoneinfo resolves a skipped time with the offset before the jump.
        instant = candidate.astimezone(UTC)
        if instant > now:
            return instant
    raise AssertionError("unreachable: a wall-clock time recurs within two days")


def install_schedules(schedule_model=None, *, using: str = DEFAULT_DB_ALIAS, now=None) -> dict:
    """Create or repair every schedule of the registry; returns {name: what was done}.

    What was done is ``created``, ``updated`` or ``unchanged``. An unchanged schedule keeps
    its ``next_run``; a created or updated one gets a fresh one.
    """
    if schedule_model is None:
        from django_q.models import Schedule as schedule_model

    now = now or timezone.now()
    done = {}
    manager = schedule_model.objects.using(using)
    for spec in SCHEDULES:
        existing = list(manager.filter(name=spec.name).order_by("pk"))
        for duplicate in existing[1:]:
            duplicate.delete()
        wanted = spec.fields()
        if not existing:
            manager.create(name=spec.name, next_run=spec.first_run(now), **wanted)
            done[spec.name] = "created"
            continue
        schedule = existing[0]
        if all(getattr(schedule, field) == value for field, value in wanted.items()):
            done[spec.name] = "unchanged"
            continue
        for field, value in wanted.items():
            setattr(schedule, field, value)
        schedule.next_run = spec.first_run(now)
        schedule.save(using=using)
        done[spec.name] = "updated"
    return done


def install_after_migrate(sender, *, using: str = DEFAULT_DB_ALIAS, verbosity=1, **kwargs):
    """``post_migrate`` receiver: install the schedules once django-q2's table exists."""
    apps = kwargs.get("apps")
    try:
        schedule_model = apps.get_model("django_q", "Schedule") if apps else None
    except LookupError:
        return
    if schedule_model is None:
        from django_q.models import Schedule as schedule_model
    if schedule_model._meta.db_table not in connections[using].introspection.table_names():
        return
    done = install_schedules(schedule_model, using=using)
    if verbosity >= 2:
        for name, what in done.items():
            print(f"  Schedule {name}: {what}")


def reanchor(name: str, *, now: datetime | None = None) -> None:
    """Put a daily schedule's next run back on its wall-clock time (see the module doc)."""
    from django_q.models import Schedule

    spec = BY_NAME[name]
    if spec.daily_at is None:
        return
    now = now or timezone.now()
    Schedule.objects.filter(name=name, schedule_type=DAILY).update(
        next_run=next_local_time(now, spec.daily_at, ZoneInfo(settings.TIME_ZONE))
    )
