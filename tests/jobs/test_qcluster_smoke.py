"""A real ``manage.py qcluster`` runs a due schedule, on the database broker and on Redis.

The cluster runs in a subprocess against this run's test database, so the test commits
for real (``transaction=True``). The ORM variant runs everywhere; the Redis variant in
every run where ``REDIS_URL`` is set (CI's PostgreSQL run). ``WWMAA_SMOKE_BROKERS=orm,redis``
demands both: a missing Redis then fails the run instead of leaving the variant out.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_q.models import Schedule, Success

from sessions_app.jobs.schedules import install_schedules

REQUIRED = {name for name in os.environ.get("WWMAA_SMOKE_BROKERS", "").split(",") if name}
BROKERS = ["orm", *(["redis"] if os.environ.get("REDIS_URL") or "redis" in REQUIRED else [])]
WAIT_SECONDS = 90


def wait_for(condition, *, seconds: float, process: subprocess.Popen, log) -> None:
    """Poll ``condition`` until it holds; fail with the cluster's log if it never does."""
    deadline = time.monotonic() + seconds
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"qcluster exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            pytest.fail(
                f"nothing ran within {seconds} s; qcluster said:\n{log.read_text()[-4000:]}"
            )
        time.sleep(0.2)  # polling for an outcome, not waiting for a clock


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, as a process manager stops it; killed with its workers if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", BROKERS)
def test_a_real_cluster_runs_the_due_schedules_and_stops(broker, tmp_path):
    if broker == "redis" and not os.environ.get("REDIS_URL"):
        pytest.fail("WWMAA_SMOKE_BROKERS asks for Redis but REDIS_URL is not set")
    install_schedules()
    now = timezone.now()
    # Due now: the reminders job (through its real entry point) and a probe task.
    Schedule.objects.filter(name="reminders").update(next_run=now - timedelta(seconds=1))
    marker = tmp_path / "probe-ran"
    Schedule.objects.create(
        name="smoke probe",
        func="tests.jobs.qcluster_probe.touch",
        args=repr(str(marker)),
        schedule_type=Schedule.ONCE,
        next_run=now - timedelta(seconds=1),
    )
    log = tmp_path / "qcluster.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.jobs.qcluster_settings",
        "WWMAA_SMOKE_DB_NAME": str(connection.settings_dict["NAME"]),
        "WWMAA_SMOKE_BROKER": broker,
        "WWMAA_SMOKE_CLUSTER": f"smoke-{uuid.uuid4().hex[:12]}",
    }
    # The queue the cluster says it guards names its broker: a Redis list or an ORM queue.
    queue = {
        "redis": f"[django_q:{env['WWMAA_SMOKE_CLUSTER']}:q]",
        "orm": f"[{env['WWMAA_SMOKE_CLUSTER']}]",
    }[broker]
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers form a group we can kill if need be
        )
    try:
        wait_for(
            lambda: (
                marker.exists()
                and Success.objects.filter(func="sessions_app.tasks.reminders").exists()
            ),
            seconds=WAIT_SECONDS,
            process=process,
            log=log,
        )
    finally:
        stop(process)

    assert process.returncode == 0, log.read_text()[-4000:]
    guarding = [line for line in log.read_text().splitlines() if "guarding cluster" in line]
    assert guarding and guarding[0].endswith(queue), guarding
    assert marker.read_text() == "ran\n"
    reminders = Success.objects.get(func="sessions_app.tasks.reminders")
    assert reminders.result == "reminders: 0 sent, 0 skipped, 0 retrying, 0 failed"
    assert Schedule.objects.get(name="reminders").next_run > now + timedelta(minutes=4)
    assert not Schedule.objects.filter(name="smoke probe").exists()  # a ONCE schedule is done
