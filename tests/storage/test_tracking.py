"""The tracking mixin and queryset: every kind of ORM write queues its rows, once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from events_app.models import Event
from sessions_app.models import SessionAttendance, SessionStatus, TrainingSession
from sessions_app.storage import outbox
from sessions_app.storage.models import OutboxEntry, OutboxState
from tests.conftest import NOW
from tests.storage.support import pending

pytestmark = pytest.mark.django_db


@pytest.fixture
def sessions(make_session):
    return [make_session(start_time=NOW + timedelta(days=i + 1)) for i in range(3)]


@pytest.fixture
def clean_outbox():
    OutboxEntry.objects.all().delete()


def keys(*objs, table="training_sessions"):
    return Counter({(table, str(obj.pk)): 1 for obj in objs})


@pytest.mark.usefixtures("zerodb_on")
class TestWhileOn:
    def test_update_queues_exactly_the_rows_it_changed(self, sessions, clean_outbox):
        first, second, _ = sessions
        changed = TrainingSession.objects.filter(pk__in=[first.pk, second.pk]).update(title="Moved")
        assert changed == 2
        assert pending() == keys(first, second)

    def test_a_conditional_update_that_loses_queues_nothing(self, sessions, clean_outbox):
        won = TrainingSession.objects.filter(pk=sessions[0].pk, status=SessionStatus.LIVE).update(
            status=SessionStatus.ENDED
        )
        assert won == 0
        assert pending() == Counter()

    def test_a_related_manager_update_is_tracked(self, sessions, member, other_member):
        session = sessions[0]
        rows = [
            SessionAttendance.objects.create(session=session, user=user, joined_at=NOW)
            for user in (member, other_member)
        ]
        OutboxEntry.objects.all().delete()
        session.attendance.update(watch_time_seconds=60)
        assert pending() == keys(*rows, table="session_attendance")

    def test_bulk_update_queues_its_rows(self, sessions, clean_outbox):
        for session in sessions:
            session.title = "Renamed"
        TrainingSession.objects.bulk_update(sessions, ["title"])
        assert pending() == keys(*sessions)

    def test_bulk_create_queues_the_rows_and_their_sessions(self, sessions, member, other_member):
        OutboxEntry.objects.all().delete()
        rows = SessionAttendance.objects.bulk_create(
            [
                SessionAttendance(session=sessions[0], user=member, joined_at=NOW),
                SessionAttendance(session=sessions[0], user=other_member, joined_at=NOW),
            ]
        )
        assert pending() == keys(*rows, table="session_attendance") + keys(sessions[0])
        assert set(OutboxEntry.objects.values_list("op", flat=True)) == {"create"}

    def test_bulk_create_with_update_conflicts_queues_the_updated_row(self, sessions, member):
        existing = SessionAttendance.objects.create(session=sessions[0], user=member, joined_at=NOW)
        OutboxEntry.objects.all().delete()
        SessionAttendance.objects.bulk_create(
            [
                SessionAttendance(
                    session=sessions[0], user=member, joined_at=NOW, watch_time_seconds=9
                )
            ],
            update_conflicts=True,
            unique_fields=["session", "user"],
            update_fields=["watch_time_seconds"],
        )
        assert ("session_attendance", str(existing.pk)) in pending()

    def test_save_with_no_fields_queues_nothing(self, sessions, clean_outbox):
        sessions[0].save(update_fields=[])
        assert pending() == Counter()

    def test_writes_of_fields_no_document_carries_queue_nothing(
        self, sessions, member, clean_outbox
    ):
        session = sessions[0]
        TrainingSession.objects.filter(pk=session.pk).update(archived_at=NOW, end_reason="admin")
        session.room_status = "failed"
        session.save(update_fields=["room_status"])
        row = SessionAttendance.objects.create(session=session, user=member, joined_at=NOW)
        OutboxEntry.objects.all().delete()
        row.last_seen_at = NOW
        row.save(update_fields=["last_seen_at"])
        SessionAttendance.objects.bulk_update([row], ["segment_started_at"])
        assert pending() == Counter()

    def test_a_field_a_document_is_derived_from_is_watched(self, event, clean_outbox):
        Event.objects.filter(pk=event.pk).update(is_public=False)  # "visibility"
        assert pending() == keys(event, table="events")

    def test_update_or_create_and_get_or_create_are_tracked(self, clean_outbox):
        event, _ = Event.objects.update_or_create(
            title="Camp", defaults={"starts_at": NOW, "ends_at": NOW + timedelta(days=1)}
        )
        Event.objects.get_or_create(title="Camp")
        assert pending() == keys(event, table="events")

    def test_several_changes_before_delivery_fold_into_one_entry(self, sessions, clean_outbox):
        session = sessions[0]
        with transaction.atomic():
            session.title = "One"
            session.save()
            TrainingSession.objects.filter(pk=session.pk).update(title="Two")
        TrainingSession.objects.filter(pk=session.pk).update(title="Three")
        session.delete()
        entry = OutboxEntry.objects.get()
        assert entry.op == "delete"
        assert entry.created_at <= entry.changed_at

    def test_a_change_after_a_worker_claimed_the_entry_gets_its_own(self, sessions, clean_outbox):
        session = sessions[0]
        session.save()
        OutboxEntry.objects.update(claimed_by="worker-1")
        session.save()
        assert OutboxEntry.objects.filter(claimed_by__isnull=True).count() == 1
        assert OutboxEntry.objects.count() == 2

    def test_a_dead_letter_is_not_reused_by_a_new_change(self, sessions, clean_outbox):
        session = sessions[0]
        session.save()
        OutboxEntry.objects.update(state=OutboxState.DEAD)
        session.save()
        assert pending() == keys(session)
        assert OutboxEntry.objects.filter(state=OutboxState.DEAD).count() == 1

    def test_deleting_a_session_queues_it_and_its_attendance(self, sessions, member):
        row = SessionAttendance.objects.create(session=sessions[0], user=member, joined_at=NOW)
        OutboxEntry.objects.all().delete()
        TrainingSession.objects.filter(pk=sessions[0].pk).delete()
        assert pending() == keys(sessions[0]) + keys(row, table="session_attendance")

    def test_deleting_a_user_queues_their_attendance_and_its_session(self, sessions, member):
        row = SessionAttendance.objects.create(session=sessions[0], user=member, joined_at=NOW)
        OutboxEntry.objects.all().delete()
        member.delete()
        assert pending() == keys(row, table="session_attendance") + keys(sessions[0])

    def test_the_querysets_keep_their_own_methods(self, sessions, event, member):
        assert TrainingSession.objects.upcoming(NOW).count() == 3
        assert TrainingSession.objects.visible_to(member).not_archived().count() == 3
        start = sessions[0].start_time
        assert TrainingSession.objects.overlapping(start, start + timedelta(minutes=1)).count() == 1
        assert list(Event.objects.public()) == [event]
        assert list(Event.objects.visible_to(member)) == [event]


class TestTheKick:
    pytestmark = pytest.mark.usefixtures("zerodb_on")

    def test_a_commit_puts_one_drain_task_on_the_broker(
        self, make_session, django_capture_on_commit_callbacks, broker
    ):
        with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
            sessions = [make_session(start_time=NOW + timedelta(days=i)) for i in (1, 2)]
            for session in sessions:
                session.title = "Changed"
                session.save()
            TrainingSession.objects.update(duration_minutes=90)
        assert len(callbacks) == 1
        assert broker.funcs() == [outbox.DRAIN_TASK]
        assert broker.calls[0]["q_options"]["sync"] is False

    def test_a_broker_failure_never_fails_the_write(
        self, make_session, django_capture_on_commit_callbacks, monkeypatch, caplog
    ):
        def broken(*args, **kwargs):
            raise ConnectionError("redis is down")

        monkeypatch.setattr("sessions_app.queueing.async_task", broken)
        with django_capture_on_commit_callbacks(execute=True):
            session = make_session()
        assert TrainingSession.objects.filter(pk=session.pk).exists()
        assert pending() == keys(session)
        assert "every-minute schedule" in caplog.text


class TestWhileOff:
    def test_nothing_is_queued_and_nothing_kicked(
        self, sessions, member, event, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            TrainingSession.objects.update(title="x")
            TrainingSession.objects.bulk_update(sessions, ["title"])
            SessionAttendance.objects.bulk_create(
                [SessionAttendance(session=sessions[0], user=member, joined_at=NOW)]
            )
            sessions[1].save()
            event.delete()
            sessions[2].delete()
        assert OutboxEntry.objects.count() == 0
        assert callbacks == []

    def test_update_costs_no_extra_query(self, sessions):
        with CaptureQueriesContext(connection) as queries:
            TrainingSession.objects.filter(pk=sessions[0].pk).update(title="x")
        assert len(queries) == 1
