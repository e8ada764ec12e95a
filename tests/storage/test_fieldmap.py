"""The field map: the contract's names, the encodings, and a round trip for every table."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from events_app.models import Event
from sessions_app.models import SessionAttendance, TrainingSession
from sessions_app.storage.fieldmap import (
    EVENTS,
    SESSION_ATTENDANCE,
    TABLES,
    TRAINING_SESSIONS,
    canonical,
    content_hash,
    dump_instant,
    load_instant,
)
from tests.conftest import NOW

pytestmark = pytest.mark.django_db

# The names other systems read, exactly as the contract lists them.
CONTRACT_NAMES = {
    TRAINING_SESSIONS: {
        "id",
        "event_id",
        "title",
        "description",
        "instructor_id",
        "session_date",
        "duration_minutes",
        "session_status",
        "is_live",
        "cloudflare_room_id",
        "room_url",
        "started_at",
        "ended_at",
        "recording_enabled",
        "recording_id",
        "recording_status",
        "chat_enabled",
        "is_public",
        "members_only",
        "tags",
        "max_participants",
        "attendance_count",
        "created_at",
        "updated_at",
    },
    SESSION_ATTENDANCE: {
        "id",
        "session_id",
        "user_id",
        "joined_at",
        "left_at",
        "watch_time_seconds",
        "created_at",
        "updated_at",
    },
    EVENTS: {
        "id",
        "title",
        "description",
        "start_date",
        "end_date",
        "timezone",
        "location",
        "visibility",
        "created_at",
        "updated_at",
    },
}


@pytest.fixture
def live_session(make_session, event, member):
    session = make_session(
        event=event,
        status="live",
        started_at=NOW - timedelta(minutes=5),
        room_id="room-42",
        room_url="https://rooms.example/room-42",
        recording_enabled=True,
        recording_id="rec-1",
        recording_status="recording",
        capacity=12,
        is_public=True,
        members_only=False,
        tags=["kata", "beginners"],
        description="Forms.",
    )
    SessionAttendance.objects.create(session=session, user=member, joined_at=NOW)
    return session


@pytest.mark.parametrize("table", sorted(TABLES))
def test_documents_use_exactly_the_contract_names(table):
    assert set(TABLES[table].document_names) == CONTRACT_NAMES[table]
    assert set(TABLES[table].schema) == CONTRACT_NAMES[table]


def test_a_session_document_maps_every_field(live_session, event, instructor):
    spec = TABLES[TRAINING_SESSIONS]
    doc = spec.to_document(spec.load(live_session.pk))
    assert doc["id"] == str(live_session.pk)
    assert doc["event_id"] == str(event.pk)
    assert doc["instructor_id"] == str(instructor.pk)
    assert doc["session_date"] == "2026-06-01T18:00:00Z"
    assert doc["session_status"] == "live"
    assert doc["is_live"] is True
    assert doc["cloudflare_room_id"] == "room-42"
    assert doc["max_participants"] == 12
    assert doc["attendance_count"] == 1
    assert doc["tags"] == ["kata", "beginners"]
    assert doc["ended_at"] is None


def test_a_session_without_event_or_capacity_has_nulls(make_session):
    session = make_session()
    doc = TABLES[TRAINING_SESSIONS].to_document(session)
    assert doc["event_id"] is None
    assert doc["max_participants"] is None
    assert doc["is_live"] is False
    assert doc["attendance_count"] == 0


def test_event_visibility_comes_from_is_public(event):
    spec = TABLES[EVENTS]
    assert spec.to_document(event)["visibility"] == "public"
    event.is_public = False
    assert spec.to_document(event)["visibility"] == "members_only"
    assert spec.from_document({"visibility": "members_only"})["is_public"] is False


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_table_survives_a_round_trip(table, live_session, event):
    spec = TABLES[table]
    obj = spec.rows().first()
    doc = spec.to_document(obj)
    values = spec.from_document(doc)
    for name, value in values.items():
        assert getattr(obj, name) == value, name
    # Writing what was read back gives the same document.
    rebuilt = spec.model(**{**values})
    if table == TRAINING_SESSIONS:
        rebuilt.mirrored_attendance_count = doc["attendance_count"]
    assert spec.to_document(rebuilt) == doc


@pytest.mark.parametrize("table", sorted(TABLES))
def test_rows_give_every_document_in_one_query(
    table, live_session, make_session, member, other_member, event, django_assert_num_queries
):
    later = make_session(event=event, start_time=NOW + timedelta(days=1), tags=["kata"])
    SessionAttendance.objects.create(session=later, user=member, joined_at=NOW, left_at=NOW)
    SessionAttendance.objects.create(session=later, user=other_member, joined_at=NOW)
    Event.objects.create(
        title="Members' seminar", starts_at=NOW, ends_at=NOW + timedelta(days=1), is_public=False
    )
    spec = TABLES[table]
    with django_assert_num_queries(1):  # a count or column read row by row: more
        documents = {obj.pk: spec.to_document(obj) for obj in spec.rows()}
    whole = spec.model._base_manager.all()
    assert documents == {obj.pk: spec.to_document(obj) for obj in whole}
    assert len(documents) >= 2


def test_instants_are_utc_with_z_and_parse_any_offset():
    instant = datetime(2026, 6, 1, 20, 0, 0, 123456, tzinfo=UTC)
    assert dump_instant(instant) == "2026-06-01T20:00:00.123456Z"
    assert load_instant("2026-06-01T22:00:00+02:00") == datetime(2026, 6, 1, 20, 0, tzinfo=UTC)
    assert load_instant("2026-06-01T20:00:00") == datetime(2026, 6, 1, 20, 0, tzinfo=UTC)
    assert dump_instant(None) is None and load_instant(None) is None


def test_content_hash_ignores_instant_formatting_and_foreign_fields():
    spec = TABLES[EVENTS]
    ours = {"id": str(uuid.uuid4()), "start_date": "2026-06-01T20:00:00Z", "title": "T"}
    theirs = {**ours, "start_date": "2026-06-01T22:00:00+02:00", "added_by_them": 1}
    assert canonical(spec, theirs)["start_date"] == "2026-06-01T20:00:00Z"
    assert content_hash(spec, ours) == content_hash(spec, theirs)
    assert content_hash(spec, ours) != content_hash(spec, {**ours, "title": "U"})


def test_user_ids_are_strings_and_read_back_as_integers(member, make_session):
    session = make_session()
    attendance = SessionAttendance.objects.create(session=session, user=member, joined_at=NOW)
    spec = TABLES[SESSION_ATTENDANCE]
    doc = spec.to_document(attendance)
    assert doc["user_id"] == str(member.pk)
    assert spec.from_document(doc)["user_id"] == member.pk
    assert doc["session_id"] == str(session.pk)
    assert isinstance(TrainingSession._meta.pk.to_python(doc["session_id"]), uuid.UUID)
