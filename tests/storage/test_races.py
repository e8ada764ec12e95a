"""Races with the mirror on: the outbox follows the winner of each conditional UPDATE."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from sessions_app import services
from sessions_app.models import SessionStatus, TrainingSession
from sessions_app.storage.models import OutboxEntry
from tests.storage.support import pending

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("zerodb_on")]


def run_together(functions) -> list:
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def worker(index, func):
        try:
            barrier.wait(timeout=10)
            results[index] = func()
        except Exception as exc:  # the outcome under test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    close_old_connections()
    return results


def test_two_cancels_at_once_leave_one_winner_and_one_entry(instructor, board_member):
    session = TrainingSession.objects.create(
        instructor=instructor,
        title="Race",
        start_time=timezone.now() + timedelta(days=1),
        duration_minutes=60,
    )
    OutboxEntry.objects.all().delete()

    results = run_together(
        [
            lambda: services.cancel_session(instructor, session.pk),
            lambda: services.cancel_session(board_member, session.pk),
        ]
    )

    conflicts = [r for r in results if isinstance(r, services.Conflict)]
    assert len(conflicts) == 1, results
    assert TrainingSession.objects.get().status == SessionStatus.CANCELED
    assert pending() == {("training_sessions", str(session.pk)): 1}


def test_many_writers_on_one_row_leave_one_open_entry(instructor):
    session = TrainingSession.objects.create(
        instructor=instructor,
        title="Busy",
        start_time=timezone.now() + timedelta(days=1),
        duration_minutes=60,
    )
    OutboxEntry.objects.all().delete()

    def rename(i):
        return lambda: TrainingSession.objects.filter(pk=session.pk).update(title=f"T{i}")

    results = run_together([rename(i) for i in range(6)])

    assert results == [1] * 6
    # The writers queue behind the row's lock, and each folds into the open entry.
    assert pending() == {("training_sessions", str(session.pk)): 1}
