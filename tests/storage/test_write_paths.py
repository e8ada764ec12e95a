"""Every write path queues exactly one pending outbox entry per changed row.

"Changed" is measured, not listed: each scenario snapshots every mirrored row's ZeroDB
document before and after, and the rows whose document appeared, disappeared or changed
must be exactly the rows with a pending entry — one each. A write path that forgets to
queue (a new ``QuerySet.update()``, a raw bulk write) fails here, and so does a new public
service function that no scenario exercises (``test_every_service_function_is_covered``).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

import sessions_app.services
from events_app.models import Event
from sessions_app import services, webhooks
from sessions_app.models import SessionAttendance, SessionStatus, TrainingSession
from sessions_app.rooms import Recording, WebhookEvent, WebhookEventKind
from sessions_app.services import joining, lifecycle, rooms
from sessions_app.storage.models import OutboxEntry
from tests.conftest import NOW
from tests.storage.support import admin_form, changed_rows, mirror_snapshot, pending

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("zerodb_on")]


@contextmanager
def one_entry_per_changed_row(frozen):
    """Run the body, then check the outbox holds one pending entry per changed row."""
    OutboxEntry.objects.all().delete()  # what arranging the test queued
    frozen.shift(timedelta(seconds=1))  # so that auto_now fields move
    before = mirror_snapshot()
    outcome: dict = {}
    yield outcome
    after = mirror_snapshot()
    outcome["changed"] = changed = changed_rows(before, after)
    assert pending() == Counter(dict.fromkeys(changed, 1))


def tables_of(rows) -> Counter:
    return Counter(table for table, _ in rows)


@pytest.fixture
def soon(make_session):
    """A scheduled session starting in five minutes: startable and joinable now."""
    return make_session(start_time=NOW + timedelta(minutes=5))


@pytest.fixture
def live(make_session):
    return make_session(
        start_time=NOW - timedelta(minutes=5),
        status=SessionStatus.LIVE,
        started_at=NOW - timedelta(minutes=5),
        room_status="ready",
        room_id="local-live",
        room_url="http://testserver/room/",
    )


@pytest.fixture
def present(live, member):
    """The member is in the live session's room."""
    return SessionAttendance.objects.create(
        session=live, user=member, joined_at=NOW, segment_started_at=NOW, last_seen_at=NOW
    )


# One scenario per public write function. Each returns the tables it is expected to touch.


def create(ctx):
    instructor = ctx.instructor
    data = {"title": "Kata", "start_time": NOW + timedelta(days=1), "duration_minutes": 45}
    ctx.checked(lambda: services.create_session(instructor, data))
    return {"training_sessions": 1}


def update(ctx):
    instructor, session = ctx.instructor, ctx.make_session()
    ctx.checked(lambda: services.update_session(instructor, session.pk, {"title": "New"}))
    return {"training_sessions": 1}


def cancel(ctx):
    instructor, session = ctx.instructor, ctx.make_session()
    ctx.checked(lambda: services.cancel_session(instructor, session.pk))
    return {"training_sessions": 1}


def start_with_a_pending_room(ctx):
    # Two writes (the room, then the status) in two transactions: still one entry.
    instructor, session = ctx.instructor, ctx.soon
    ctx.checked(lambda: services.start_session(instructor, session.pk))
    return {"training_sessions": 1}


def end_with_people_present(ctx):
    instructor, session, _ = ctx.instructor, ctx.live, ctx.present
    ctx.checked(lambda: services.end_session(instructor, session.pk))
    return {"training_sessions": 1, "session_attendance": 1}


def auto_end_overdue(ctx):
    session, _ = ctx.live, ctx.present
    ctx.checked(
        lambda: services.finish_session(
            session.pk, from_status=SessionStatus.LIVE, reason="auto_overdue", now=NOW
        )
    )
    return {"training_sessions": 1, "session_attendance": 1}


def close_attendance(ctx):
    session, _ = ctx.live, ctx.present
    ctx.checked(lambda: lifecycle.close_open_attendance(session.pk, NOW))
    return {"session_attendance": 1}


def join_first_time(ctx):
    # The room is created, a seat taken, and the session's attendance_count moves.
    member, session = ctx.member, ctx.soon
    ctx.checked(lambda: services.join_session(member, session.pk))
    return {"training_sessions": 1, "session_attendance": 1}


def rejoin(ctx):
    member, session, _ = ctx.member, ctx.live, ctx.present
    services.leave_session(member, session.pk)
    ctx.checked(lambda: services.join_session(member, session.pk))
    return {"session_attendance": 1}


def leave(ctx):
    member, session, _ = ctx.member, ctx.live, ctx.present
    ctx.checked(lambda: services.leave_session(member, session.pk))
    return {"session_attendance": 1}


def heartbeat(ctx):
    member, session, _ = ctx.member, ctx.live, ctx.present
    ctx.checked(lambda: services.record_presence(member, session.pk))
    return {"session_attendance": 1}


def reopen_a_segment(ctx):
    member, session, attendance = ctx.member, ctx.live, ctx.present
    services.leave_session(member, session.pk)
    attendance.refresh_from_db()

    def act():
        with transaction.atomic():
            joining.open_segment(attendance, NOW)

    ctx.checked(act)
    return {"session_attendance": 1}


def fetch_room_credentials(ctx):
    # Credentials for a seat already held: no attendance change.
    member, session, _ = ctx.member, ctx.live, ctx.present
    ctx.checked(lambda: joining.room_credentials(member, session.pk))
    return {}


def register_and_unregister(ctx):
    # Registrations are not mirrored: nothing is queued.
    member, session = ctx.member, ctx.live

    def act():
        services.register(member, session.pk)
        services.unregister(member, session.pk)

    ctx.checked(act)
    return {}


def create_a_room(ctx):
    session = ctx.soon
    ctx.checked(lambda: rooms.ensure_room(session))
    return {"training_sessions": 1}


def retire_a_room(ctx):
    session = ctx.live
    TrainingSession.objects.filter(pk=session.pk).update(status=SessionStatus.CANCELED)
    ctx.checked(lambda: rooms.retire_room(session.pk))
    return {"training_sessions": 1}


def create_a_room_in_the_background(ctx):
    session = ctx.soon
    ctx.checked(lambda: rooms.create_room_task(session.pk))
    return {"training_sessions": 1}


def start_and_stop_a_recording(ctx):
    session = ctx.live
    TrainingSession.objects.filter(pk=session.pk).update(recording_enabled=True)
    ctx.checked(lambda: rooms.start_recording(session.pk))
    first = ctx.changed
    ctx.checked(lambda: rooms.stop_recording(session.pk))
    assert first == ctx.changed == {("training_sessions", str(session.pk))}
    return {"training_sessions": 1}


def end_a_call(ctx):
    session = ctx.live
    ctx.checked(lambda: rooms.end_call(session.pk))
    return {}


def webhook_participant_joined(ctx):
    member, session = ctx.member, ctx.live
    event = WebhookEvent(
        kind=WebhookEventKind.PARTICIPANT_JOINED,
        delivery_id="d-1",
        room_id=session.room_id,
        user_ref=str(member.pk),
        occurred_at=NOW,
    )
    ctx.checked(lambda: webhooks.handle_event(event))
    return {"training_sessions": 1, "session_attendance": 1}


def webhook_participant_left(ctx):
    member, session, _ = ctx.member, ctx.live, ctx.present
    event = WebhookEvent(
        kind=WebhookEventKind.PARTICIPANT_LEFT,
        delivery_id="d-2",
        room_id=session.room_id,
        user_ref=str(member.pk),
        occurred_at=NOW + timedelta(minutes=1),
    )
    ctx.checked(lambda: webhooks.handle_event(event))
    return {"session_attendance": 1}


def webhook_recording_status(ctx):
    session = ctx.live
    event = WebhookEvent(
        kind=WebhookEventKind.RECORDING_STATUS,
        delivery_id="d-3",
        room_id=session.room_id,
        recording=Recording(recording_id="rec-1", status="recording"),
    )
    ctx.checked(lambda: webhooks.handle_event(event))
    return {"training_sessions": 1}


def delete_a_session_with_attendance(ctx):
    session, _ = ctx.live, ctx.present
    ctx.checked(lambda: TrainingSession.objects.get(pk=session.pk).delete())
    return {"training_sessions": 1, "session_attendance": 1}


def delete_an_event(ctx):
    event = ctx.event
    ctx.checked(lambda: Event.objects.filter(pk=event.pk).delete())
    return {"events": 1}


def load_the_demo(ctx):
    ctx.checked(lambda: call_command("load_demo", force=True, verbosity=0))
    return None  # many rows; the checker still demands one entry each


SCENARIOS = {
    "create": create,
    "update": update,
    "cancel": cancel,
    "start with a pending room": start_with_a_pending_room,
    "end with people present": end_with_people_present,
    "auto-end overdue": auto_end_overdue,
    "close open attendance": close_attendance,
    "join for the first time": join_first_time,
    "rejoin": rejoin,
    "leave": leave,
    "heartbeat": heartbeat,
    "reopen a segment": reopen_a_segment,
    "fetch room credentials": fetch_room_credentials,
    "register and unregister": register_and_unregister,
    "create a room": create_a_room,
    "retire a room": retire_a_room,
    "create a room in the background": create_a_room_in_the_background,
    "start and stop a recording": start_and_stop_a_recording,
    "end a call": end_a_call,
    "webhook: participant joined": webhook_participant_joined,
    "webhook: participant left": webhook_participant_left,
    "webhook: recording status": webhook_recording_status,
    "delete a session with attendance": delete_a_session_with_attendance,
    "delete an event": delete_an_event,
    "load the demo": load_the_demo,
}


class Context:
    """Fixtures for the scenarios, built lazily; ``checked`` runs the act under the check."""

    def __init__(self, request, frozen):
        self._request = request
        self._frozen = frozen
        self.changed: set = set()

    def __getattr__(self, name):
        return self._request.getfixturevalue(name)

    def checked(self, act):
        with one_entry_per_changed_row(self._frozen) as outcome:
            act()
        self.changed = outcome["changed"]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_each_write_path_queues_one_entry_per_changed_row(name, request, frozen):
    ctx = Context(request, frozen)
    expected = SCENARIOS[name](ctx)
    if expected is not None:
        assert tables_of(ctx.changed) == Counter(expected)
    else:
        assert ctx.changed


# Which public functions write. New ones must be given a scenario (or listed as reads).

WRITERS = {
    "create_session": "create",
    "update_session": "update",
    "cancel_session": "cancel",
    "start_session": "start with a pending room",
    "end_session": "end with people present",
    "finish_session": "auto-end overdue",
    "close_open_attendance": "close open attendance",
    "join_session": "join for the first time",
    "leave_session": "leave",
    "record_presence": "heartbeat",
    "register": "register and unregister",
    "unregister": "register and unregister",
    "ensure_room": "create a room",
    "retire_room": "retire a room",
    "end_call": "end a call",
    "open_segment": "reopen a segment",
    "room_credentials": "fetch room credentials",
    "create_room_task": "create a room in the background",
    "start_recording": "start and stop a recording",
    "stop_recording": "start and stop a recording",
    "handle_event": "webhook: participant joined",
    "receive": "webhook: participant joined",  # stores the delivery, queues handle_event
    "process_delivery": "webhook: participant joined",  # claims it, then handle_event
}
READERS = {
    "present_from",  # builds field values
    "queue",  # puts a task on the broker after commit; the tasks are covered above
    "can_join",
    "may_see",
    "join_opens_at",
    "seats_taken",
    "holds_seat",
    "seats_now",
    "session_with_seats",
    "seats_taken_sql",  # SQL text for queries of their own
    "seat_counts_sql",  # the same, with the caller's own seats
    "caller_id",  # the id a query takes for the caller
    "room_role",
    "status_conflict",
    "validate_session_input",
    "clean_session_fields",
    "clean_tags",
}


def public_functions():
    modules = [
        importlib.import_module(f"sessions_app.services.{info.name}")
        for info in pkgutil.iter_modules(sessions_app.services.__path__)
    ]
    for module in [*modules, webhooks]:
        for name, func in inspect.getmembers(module, inspect.isfunction):
            if func.__module__ == module.__name__ and not name.startswith("_"):
                yield f"{module.__name__}.{name}", name


def test_every_service_function_is_covered():
    uncovered = [
        qualified
        for qualified, name in public_functions()
        if name not in WRITERS and name not in READERS
    ]
    assert uncovered == [], (
        "New public functions: add a write-path scenario to SCENARIOS and WRITERS "
        "(or list them in READERS if they never write)."
    )
    assert set(WRITERS.values()) <= set(SCENARIOS)


# The transaction is the unit.


def test_a_rolled_back_change_queues_nothing(make_session, frozen):
    session = make_session()
    OutboxEntry.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        TrainingSession.objects.filter(pk=session.pk).update(title="Never")
        session.title = "Never either"
        session.save()
        SessionAttendance.objects.bulk_create([])
        raise RuntimeError("rolled back")
    assert OutboxEntry.objects.count() == 0
    assert TrainingSession.objects.get(pk=session.pk).title == "Kata fundamentals"


def test_a_failed_write_queues_nothing(make_session, member):
    session = make_session()
    SessionAttendance.objects.create(session=session, user=member, joined_at=NOW)
    OutboxEntry.objects.all().delete()
    with pytest.raises(Exception), transaction.atomic():  # noqa: B017 - the unique constraint
        SessionAttendance.objects.create(session=session, user=member, joined_at=NOW)
    assert OutboxEntry.objects.count() == 0


def test_a_refused_transition_queues_nothing(make_session, instructor):
    session = make_session(status=SessionStatus.CANCELED)
    OutboxEntry.objects.all().delete()
    with pytest.raises(services.Conflict):
        services.cancel_session(instructor, session.pk)
    assert OutboxEntry.objects.count() == 0


# The admin.


def test_admin_add_and_edit_queue_one_entry_each(client, admin_user, instructor, frozen):
    client.force_login(admin_user)
    with one_entry_per_changed_row(frozen) as added:
        response = client.post(
            reverse("admin:sessions_app_trainingsession_add"),
            admin_form(instructor=str(instructor.pk)),
        )
        assert response.status_code == 302
    assert tables_of(added["changed"]) == {"training_sessions": 1}
    session = TrainingSession.objects.get()
    with one_entry_per_changed_row(frozen) as edited:
        response = client.post(
            reverse("admin:sessions_app_trainingsession_change", args=[session.pk]),
            admin_form(instructor=str(instructor.pk), title="Renamed"),
        )
        assert response.status_code == 302
    assert edited["changed"] == {("training_sessions", str(session.pk))}


def test_admin_event_add_change_and_delete_queue_entries(client, admin_user, frozen):
    client.force_login(admin_user)
    form = {
        "title": "Summer camp",
        "description": "",
        "starts_at_0": "2026-07-01",
        "starts_at_1": "09:00:00",
        "ends_at_0": "2026-07-05",
        "ends_at_1": "17:00:00",
        "timezone": "Europe/Berlin",
        "location": "Online",
    }
    with one_entry_per_changed_row(frozen):
        response = client.post(reverse("admin:events_app_event_add"), form)
        assert response.status_code == 302, response.content[:2000]
    event = Event.objects.get()
    with one_entry_per_changed_row(frozen) as changed:
        client.post(
            reverse("admin:events_app_event_change", args=[event.pk]), {**form, "is_public": "on"}
        )
    assert changed["changed"] == {("events", str(event.pk))}
    with one_entry_per_changed_row(frozen) as deleted:
        client.post(reverse("admin:events_app_event_delete", args=[event.pk]), {"post": "yes"})
    assert deleted["changed"] == {("events", str(event.pk))}
    assert OutboxEntry.objects.get().op == "delete"
