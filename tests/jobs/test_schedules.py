"""The jobs' schedules: installed by migrate, once each, the cleanup at 02:00 local time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management.sql import emit_post_migrate_signal
from django_q.models import Schedule

from sessions_app import tasks
from sessions_app.jobs import schedules
from tests.conftest import NOW

LA = ZoneInfo("America/Los_Angeles")
BERLIN = ZoneInfo("Europe/Berlin")
JOB_NAMES = ["auto_end", "cleanup", "ensure_rooms", "reminders", "zerodb_drain"]

pytestmark = pytest.mark.django_db


def ours():
    return Schedule.objects.filter(name__in=JOB_NAMES).order_by("name")


def test_migrate_installed_one_schedule_per_job():
    assert [(s.name, s.func, s.schedule_type, s.minutes, s.repeats) for s in ours()] == [
        ("auto_end", "sessions_app.tasks.auto_end", Schedule.MINUTES, 5, -1),
        ("cleanup", "sessions_app.tasks.cleanup", Schedule.DAILY, None, -1),
        ("ensure_rooms", "sessions_app.tasks.ensure_rooms", Schedule.MINUTES, 5, -1),
        ("reminders", "sessions_app.tasks.reminders", Schedule.MINUTES, 5, -1),
        ("zerodb_drain", "sessions_app.storage.tasks.drain_outbox", Schedule.MINUTES, 1, -1),
    ]


def test_running_the_migrate_hook_again_never_duplicates_a_schedule():
    before = {s.name: (s.pk, s.next_run) for s in ours()}

    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")

    assert {s.name: (s.pk, s.next_run) for s in ours()} == before


def test_the_installer_repairs_a_changed_schedule_and_removes_duplicates(frozen):
    Schedule.objects.filter(name="reminders").update(minutes=60, func="somewhere.else")
    Schedule.objects.create(name="auto_end", func="sessions_app.tasks.auto_end")

    done = schedules.install_schedules()

    assert done == {
        "ensure_rooms": "unchanged",
        "reminders": "updated",
        "auto_end": "unchanged",
        "cleanup": "unchanged",
        "zerodb_drain": "unchanged",
    }
    assert Schedule.objects.filter(name="auto_end").count() == 1
    reminders = Schedule.objects.get(name="reminders")
    assert (reminders.func, reminders.minutes, reminders.next_run) == (
        "sessions_app.tasks.reminders",
        5,
        NOW,
    )


def test_a_new_install_runs_the_5_minute_jobs_at_once_and_cleanup_at_the_next_0200(frozen):
    ours().delete()

    assert set(schedules.install_schedules().values()) == {"created"}

    assert Schedule.objects.get(name="reminders").next_run == NOW
    # NOW is 09:00 PDT on Monday 1 June; the next 02:00 PDT is Tuesday's, 09:00 UTC.
    assert Schedule.objects.get(name="cleanup").next_run == datetime(2026, 6, 2, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "now", "expected_utc", "expected_local"),
    [
        # Los Angeles springs forward on Sunday 8 March 2026: 02:00 does not exist.
        (LA, datetime(2026, 3, 7, 10, 0, 1, tzinfo=UTC), "2026-03-08 10:00", "03:00 PDT"),
        (LA, datetime(2026, 3, 8, 10, 0, 1, tzinfo=UTC), "2026-03-09 09:00", "02:00 PDT"),
        # ... and falls back on Sunday 1 November 2026 (01:00 to 02:00 happens twice).
        (LA, datetime(2026, 10, 31, 9, 0, 1, tzinfo=UTC), "2026-11-01 10:00", "02:00 PST"),
        # Berlin springs forward on Sunday 29 March 2026 at 02:00.
        (BERLIN, datetime(2026, 3, 28, 1, 0, 1, tzinfo=UTC), "2026-03-29 01:00", "03:00 CEST"),
        # ... and falls back on Sunday 25 October 2026: 02:00 to 03:00 happens twice.
        (BERLIN, datetime(2026, 10, 24, 0, 0, 1, tzinfo=UTC), "2026-10-25 00:00", "02:00 CEST"),
        (BERLIN, datetime(2026, 10, 25, 0, 0, 1, tzinfo=UTC), "2026-10-26 01:00", "02:00 CET"),
    ],
)
def test_the_next_0200_is_found_across_daylight_saving_changes(
    zone, now, expected_utc, expected_local
):
    run = schedules.next_local_time(now, time(2, 0), zone)

    assert run.strftime("%Y-%m-%d %H:%M") == expected_utc
    assert run.astimezone(zone).strftime("%H:%M %Z") == expected_local


def test_django_q2s_own_daily_step_drifts_to_0100_after_the_spring_change():
    """Why the cleanup re-anchors its schedule: without it, 02:00 becomes 01:00 for good."""
    schedule = Schedule(
        schedule_type=Schedule.DAILY, next_run=datetime(2026, 3, 7, 10, 0, tzinfo=UTC)
    )
    run = schedule.next_run
    for _ in range(3):
        run = schedule.calculate_next_run(run)

    assert run.astimezone(LA).strftime("%d %H:%M") == "10 01:00"


@pytest.mark.parametrize(
    ("zone_name", "first_run"),
    [
        ("America/Los_Angeles", datetime(2026, 3, 5, 10, 0, tzinfo=UTC)),
        ("Europe/Berlin", datetime(2026, 3, 26, 1, 0, tzinfo=UTC)),
    ],
)
def test_a_week_of_nightly_cleanups_stays_at_0200_across_the_spring_change(
    settings, monkeypatch, zone_name, first_run
):
    """Each night as the cluster does it: django-q2 steps the schedule, the task runs."""
    settings.TIME_ZONE = zone_name
    monkeypatch.setattr("django_q.conf.Conf.TIME_ZONE", zone_name)
    zone = ZoneInfo(zone_name)
    Schedule.objects.filter(name="cleanup").update(next_run=first_run)
    local_runs = []
    for _ in range(7):
        schedule = Schedule.objects.get(name="cleanup")
        ran_at = schedule.next_run + timedelta(seconds=20)  # the scheduler looks every 30 s
        schedule.next_run = schedule.calculate_next_run(schedule.next_run)
        schedule.save()
        schedules.reanchor("cleanup", now=ran_at)
        local_runs.append(ran_at.astimezone(zone).strftime("%a %H:%M"))

    assert local_runs == [
        "Thu 02:00",
        "Fri 02:00",
        "Sat 02:00",
        "Sun 03:00",  # 02:00 does not exist that night
        "Mon 02:00",
        "Tue 02:00",
        "Wed 02:00",
    ]


def test_the_cleanup_task_reanchors_its_schedule_after_running(frozen):
    Schedule.objects.filter(name="cleanup").update(
        next_run=datetime(2026, 6, 2, 8, 0, tzinfo=UTC)  # drifted to 01:00 PDT
    )

    result = tasks.cleanup()

    assert result == "cleanup: 0 rooms retired, 0 rooms retrying, 0 archived"
    assert Schedule.objects.get(name="cleanup").next_run == datetime(2026, 6, 2, 9, tzinfo=UTC)
