"""Our model fields ↔ the association's ZeroDB document names, in both directions.

This module is the one place that knows the names other systems read (contract "Document
shape"). ``to_document`` turns a row into the whole document that goes into ``row_data``
(a replace sends every field); ``from_document`` turns a document back into model field
values. Every document carries our UUID as ``id``.

Encoding decisions the contract leaves open:

* instants are ISO 8601 in UTC with a ``Z`` (``2026-06-01T18:00:00Z``; microseconds only
  when there are some), ``null`` when empty;
* ids are strings: UUIDs in their canonical form, user ids as decimal strings;
* ``attendance_count`` is the number of the session's attendance rows (everyone who came
  in, the instructor included), so it always equals the ``session_attendance`` documents
  that name the session. Creating or deleting attendance therefore changes the session's
  document too (see ``TableSpec.counted_in``);
* table schemas use JSON type names (``string``, ``integer``, ``boolean``, ``array``);
  instants are ``string``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Count


class Kind:
    """How one field is written into a document and read back."""

    schema_type = "string"

    def dump(self, value: Any) -> Any:
        return value

    def load(self, value: Any) -> Any:
        return value


class _UUID(Kind):
    def __init__(self, nullable: bool = False):
        self.nullable = nullable

    def dump(self, value):
        return None if value is None else str(value)

    def load(self, value):
        if value is None or value == "":
            return None if self.nullable else value
        return uuid.UUID(str(value))


class _UserId(Kind):
    def dump(self, value):
        return None if value is None else str(value)

    def load(self, value):
        return None if value is None or value == "" else int(value)


class _Instant(Kind):
    def dump(self, value):
        return dump_instant(value)

    def load(self, value):
        return load_instant(value)


class _Int(Kind):
    schema_type = "integer"

    def load(self, value):
        return None if value is None else int(value)


class _Bool(Kind):
    schema_type = "boolean"

    def load(self, value):
        return bool(value)


class _Text(Kind):
    """Text that may be empty ("") but is never null in the model."""

    def dump(self, value):
        return value or ""

    def load(self, value):
        return value or ""


class _List(Kind):
    schema_type = "array"

    def dump(self, value):
        return list(value or [])

    def load(self, value):
        return list(value or [])


UUID_ = _UUID()
OPTIONAL_UUID = _UUID(nullable=True)
USER_ID = _UserId()
INSTANT = _Instant()
INT = _Int()
BOOL = _Bool()
TEXT = _Text()
STRING = Kind()  # a string or null, as stored
LIST = _List()


def dump_instant(value: datetime | None) -> str | None:
    """An aware datetime as ISO 8601 UTC with ``Z``; None stays None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def load_instant(value: str | None) -> datetime | None:
    """The inverse of ``dump_instant``; accepts any ISO 8601 offset (naive means UTC)."""
    if value is None or value == "":
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class Mapped:
    """One document field: their name, our model attribute, and how it is encoded."""

    theirs: str
    ours: str
    kind: Kind


@dataclass(frozen=True)
class TableSpec:
    """A ZeroDB table and the model it mirrors."""

    name: str
    model_label: str
    description: str
    fields: tuple[Mapped, ...]
    # Fields computed from the row (theirs → schema type); written, never read back.
    derived: tuple[tuple[str, str], ...] = ()
    # (our FK attribute, parent table): creating or deleting a row of this table changes
    # a count in the parent's document.
    counted_in: tuple[str, str] | None = None
    # Model fields the derived fields are computed from, besides the mapped ones.
    derived_from: tuple[str, ...] = ()

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)

    @property
    def document_names(self) -> tuple[str, ...]:
        return (*(f.theirs for f in self.fields), *(name for name, _ in self.derived))

    def watches(self, field_names: Iterable[str]) -> bool:
        """Whether writing these model fields can change the row's document.

        Writes of bookkeeping fields only (a job's attempt counter, a heartbeat's
        ``last_seen_at`` alone) need not be mirrored. Unknown names count as watched.
        """
        watched = {f.ours for f in self.fields} | set(self.derived_from)
        for name in field_names:
            try:
                attname = self.model._meta.get_field(name).attname
            except FieldDoesNotExist:
                return True
            if attname in watched:
                return True
        return False

    @property
    def schema(self) -> dict[str, str]:
        """The ``schema`` sent when creating the table."""
        schema = {f.theirs: f.kind.schema_type for f in self.fields}
        schema.update(dict(self.derived))
        return schema

    def to_document(self, obj: models.Model) -> dict[str, Any]:
        """The whole document for ``row_data``."""
        doc = {f.theirs: f.kind.dump(getattr(obj, f.ours)) for f in self.fields}
        doc.update(_DERIVERS[self.name](obj))
        return doc

    def from_document(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Model field values (by attribute name) read from a document."""
        values = {f.ours: f.kind.load(doc.get(f.theirs)) for f in self.fields}
        values.update(_READERS[self.name](doc))
        return values

    def rows(self, ids: Iterable[Any] | None = None) -> models.QuerySet:
        """The model's rows ready for ``to_document`` (one query, counts included)."""
        queryset = self.model._base_manager.all()
        if self.name == TRAINING_SESSIONS:
            queryset = queryset.annotate(mirrored_attendance_count=Count("attendance"))
        if ids is not None:
            queryset = queryset.filter(pk__any_of=list(ids))
        return queryset.order_by("pk")

    def load(self, object_id: Any) -> models.Model | None:
        """The row as it is now, or None when it no longer exists."""
        return self.rows([object_id]).first()


TRAINING_SESSIONS = "training_sessions"
SESSION_ATTENDANCE = "session_attendance"
EVENTS = "events"

_TIMESTAMPS = (
    Mapped("created_at", "created_at", INSTANT),
    Mapped("updated_at", "updated_at", INSTANT),
)

TABLES: dict[str, TableSpec] = {
    TRAINING_SESSIONS: TableSpec(
        name=TRAINING_SESSIONS,
        model_label="sessions_app.TrainingSession",
        description="WWMAA live training sessions (mirrored from WWMAA Live).",
        fields=(
            Mapped("id", "id", UUID_),
            Mapped("event_id", "event_id", OPTIONAL_UUID),
            Mapped("title", "title", TEXT),
            Mapped("description", "description", TEXT),
            Mapped("instructor_id", "instructor_id", USER_ID),
            Mapped("session_date", "start_time", INSTANT),
            Mapped("duration_minutes", "duration_minutes", INT),
            Mapped("session_status", "status", STRING),
            Mapped("cloudflare_room_id", "room_id", STRING),
            Mapped("room_url", "room_url", STRING),
            Mapped("started_at", "started_at", INSTANT),
            Mapped("ended_at", "ended_at", INSTANT),
            Mapped("recording_enabled", "recording_enabled", BOOL),
            Mapped("recording_id", "recording_id", STRING),
            Mapped("recording_status", "recording_status", STRING),
            Mapped("chat_enabled", "chat_enabled", BOOL),
            Mapped("is_public", "is_public", BOOL),
            Mapped("members_only", "members_only", BOOL),
            Mapped("tags", "tags", LIST),
            Mapped("max_participants", "capacity", INT),
            *_TIMESTAMPS,
        ),
        derived=(("is_live", "boolean"), ("attendance_count", "integer")),
    ),
    SESSION_ATTENDANCE: TableSpec(
        name=SESSION_ATTENDANCE,
        model_label="sessions_app.SessionAttendance",
        description="Who attended which WWMAA live training session (mirrored).",
        fields=(
            Mapped("id", "id", UUID_),
            Mapped("session_id", "session_id", UUID_),
            Mapped("user_id", "user_id", USER_ID),
            Mapped("joined_at", "joined_at", INSTANT),
            Mapped("left_at", "left_at", INSTANT),
            Mapped("watch_time_seconds", "watch_time_seconds", INT),
            *_TIMESTAMPS,
        ),
        counted_in=("session_id", TRAINING_SESSIONS),
    ),
    EVENTS: TableSpec(
        name=EVENTS,
        model_label="events_app.Event",
        description="WWMAA events that group training sessions (mirrored).",
        fields=(
            Mapped("id", "id", UUID_),
            Mapped("title", "title", TEXT),
            Mapped("description", "description", TEXT),
            Mapped("start_date", "starts_at", INSTANT),
            Mapped("end_date", "ends_at", INSTANT),
            Mapped("timezone", "timezone", STRING),
            Mapped("location", "location", TEXT),
            *_TIMESTAMPS,
        ),
        derived=(("visibility", "string"),),
        derived_from=("is_public",),
    ),
}

VISIBILITY_PUBLIC = "public"
VISIBILITY_MEMBERS = "members_only"


def _session_derived(obj) -> dict[str, Any]:
    count = getattr(obj, "mirrored_attendance_count", None)
    if count is None:
        count = obj.attendance.count()
    return {"is_live": obj.status == "live", "attendance_count": count}


def _event_derived(obj) -> dict[str, Any]:
    return {"visibility": VISIBILITY_PUBLIC if obj.is_public else VISIBILITY_MEMBERS}


def _event_read(doc) -> dict[str, Any]:
    return {"is_public": doc.get("visibility") == VISIBILITY_PUBLIC}


_DERIVERS = {
    TRAINING_SESSIONS: _session_derived,
    SESSION_ATTENDANCE: lambda obj: {},
    EVENTS: _event_derived,
}
_READERS = {
    TRAINING_SESSIONS: lambda doc: {},
    SESSION_ATTENDANCE: lambda doc: {},
    EVENTS: _event_read,
}


def spec_for_model(model: type[models.Model]) -> TableSpec | None:
    """The table a model is mirrored to, or None when it is not mirrored."""
    label = model._meta.concrete_model._meta.label
    for spec in TABLES.values():
        if spec.model_label == label:
            return spec
    return None


def canonical(spec: TableSpec, doc: dict[str, Any]) -> dict[str, Any]:
    """Our fields of a document with instants re-rendered, for comparing contents."""
    out: dict[str, Any] = {}
    instants = {f.theirs for f in spec.fields if f.kind is INSTANT}
    for name in spec.document_names:
        value = doc.get(name)
        if name in instants and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = dump_instant(load_instant(value))
        out[name] = value
    return out


def content_hash(spec: TableSpec, doc: dict[str, Any]) -> str:
    """A short hash of the document's contents as ``canonical`` sees them."""
    text = json.dumps(canonical(spec, doc), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
