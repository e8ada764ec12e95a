"""The every-minute drain schedule is installed once, whatever runs how often."""

from __future__ import annotations

import importlib

import pytest
from django.core.management import call_command
from django_q.models import Schedule

from sessions_app.storage.tasks import SCHEDULE_FUNC, SCHEDULE_NAME, install_schedule

pytestmark = pytest.mark.django_db


def drain_schedules():
    return list(Schedule.objects.filter(name=SCHEDULE_NAME))


def test_migrate_installs_it_once_however_often_it_runs():
    Schedule.objects.filter(name=SCHEDULE_NAME).delete()
    call_command("migrate", verbosity=0)
    call_command("migrate", verbosity=0)
    (schedule,) = drain_schedules()
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        SCHEDULE_FUNC,
        Schedule.MINUTES,
        1,
        -1,
    )


def test_running_migrate_again_adds_no_second_schedule():
    install_schedule()
    call_command("migrate", verbosity=0)
    assert len(drain_schedules()) == 1


def test_installing_repairs_an_edited_schedule_and_removes_duplicates():
    install_schedule()
    Schedule.objects.filter(name=SCHEDULE_NAME).update(minutes=30)
    Schedule.objects.create(name=SCHEDULE_NAME, func=SCHEDULE_FUNC, schedule_type="I", minutes=1)
    assert install_schedule() is False
    (schedule,) = drain_schedules()
    assert schedule.minutes == 1


def test_the_scheduled_function_exists():
    module, name = SCHEDULE_FUNC.rsplit(".", 1)
    assert callable(getattr(importlib.import_module(module), name))
