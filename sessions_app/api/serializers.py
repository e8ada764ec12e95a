"""What the session API reads and writes.

Input serializers only parse types; every rule about the values (lengths, ranges, the
future, overlaps, who may choose an instructor) is the services' and comes back from them
as a field error. Output serializers read rows annotated by ``sessions_app.api.queries``
so a page of sessions costs one query.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sessions_app.api.listing import decision_json
from sessions_app.models import SessionAttendance, SessionRegistration, TrainingSession
from sessions_app.services import JoinDecision, Reason, can_join
from sessions_app.services.validation import SESSION_INPUT_FIELDS

# Form posts from the site's own pages carry the CSRF token beside the fields.
IGNORED_INPUT_KEYS = frozenset({"csrfmiddlewaretoken"})
# A primary key beyond this cannot exist, and would overflow SQLite's integers in a query.
MAX_ID = 2**63 - 1
MIN_YEAR, MAX_YEAR = 2, 9998


class UTCDateTimeField(serializers.DateTimeField):
    """ISO 8601 in UTC (``…Z``), whatever zone the request happens to have activated."""

    def __init__(self, **kwargs):
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(**kwargs)


class UTCModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UTCDateTimeField,
    }


@extend_schema_field(OpenApiTypes.DATETIME)
class AwareDateTimeInputField(serializers.Field):
    """Parses ISO 8601 but never assumes a zone: a naive value is passed on as it is.

    DRF's ``DateTimeField`` would make a naive input aware in the current zone; here the
    services see exactly what the client sent and refuse a naive time with a clear message.
    """

    default_error_messages = {
        "invalid": "Datetime has wrong format. Use ISO 8601 with an offset, e.g. "
        "2026-03-01T18:00:00Z or 2026-03-01T19:00:00+01:00.",
        "out_of_range": "This date is out of range.",
    }

    def to_internal_value(self, data: Any) -> datetime:
        if isinstance(data, datetime):
            value = data
        elif isinstance(data, str):
            try:
                value = parse_datetime(data.strip())
            except ValueError:  # well formed but impossible, e.g. 2026-02-30
                value = None
            if value is None:
                self.fail("invalid")
        else:
            self.fail("invalid")
        # Away from the ends of the calendar, where converting to UTC or adding the
        # duration would overflow further down.
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            self.fail("out_of_range")
        return value

    def to_representation(self, value: datetime) -> str:
        return UTCDateTimeField().to_representation(value)


class TextInputField(serializers.CharField):
    """Text as sent (blank, null and surrounding spaces included) for the services to judge.

    Refuses anything but a string, and (DRF's own checks) what no database column can
    hold: NUL characters, and lone surrogates, which JSON may smuggle in as ``\\ud800``.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            # DRF would turn 5 into "5"; a number where text belongs is a client's bug.
            self.fail("invalid")
        return super().to_internal_value(data)


class SessionInputSerializer(serializers.Serializer):
    """The create and update body of SPEC §9, under the services' input names."""

    event_id = serializers.UUIDField(
        required=False, allow_null=True, error_messages={"invalid": "event not found"}
    )
    instructor_id = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        error_messages={"min_value": "instructor not found", "max_value": "instructor not found"},
        help_text="Board members and admins only: the instructor who teaches the session.",
    )
    title = TextInputField(allow_null=True, help_text="1–200 characters.")
    description = TextInputField(allow_null=True, help_text="Up to 5,000 characters.")
    start_time = AwareDateTimeInputField(
        required=False, allow_null=True, help_text="In the future, with a time zone offset."
    )
    duration_minutes = serializers.IntegerField(
        required=False, allow_null=True, help_text="15–480 minutes."
    )
    capacity = serializers.IntegerField(
        required=False, allow_null=True, help_text="1–1,000, or null for unlimited."
    )
    recording_enabled = serializers.BooleanField(required=False)
    chat_enabled = serializers.BooleanField(required=False)
    is_public = serializers.BooleanField(required=False)
    members_only = serializers.BooleanField(required=False)
    tags = serializers.ListField(
        child=TextInputField(),
        required=False,
        allow_null=True,
        help_text="Short labels (at most 20, each up to 40 characters).",
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields) - IGNORED_INPUT_KEYS)
            if unknown:
                readable = set(SessionSerializer.Meta.fields)
                raise serializers.ValidationError(
                    {
                        name: ["This field cannot be set."]
                        if name in readable
                        else ["Unknown field."]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)

    def service_input(self) -> dict[str, Any]:
        """The parsed fields the client sent, ready for ``create_session``/``update_session``."""
        assert set(self.validated_data) <= set(SESSION_INPUT_FIELDS)
        return dict(self.validated_data)


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="display_name", read_only=True)


class EventSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    title = serializers.CharField(read_only=True)


class CanJoinSerializer(serializers.Serializer):
    """The ``can_join`` answer of SPEC §5."""

    can_join = serializers.BooleanField(read_only=True)
    reason = serializers.ChoiceField(
        choices=[
            Reason.OK,
            Reason.LOGIN_REQUIRED,
            Reason.CANCELED,
            Reason.ENDED,
            Reason.NOT_VISIBLE,
            Reason.MEMBERS_ONLY,
            Reason.TOO_EARLY,
            Reason.TOO_LATE,
            Reason.FULL,
            Reason.ROOM_NOT_READY,
        ],
        read_only=True,
    )
    message = serializers.CharField(read_only=True)
    opens_at = UTCDateTimeField(
        read_only=True, allow_null=True, help_text="When the join window opens for the caller."
    )
    seats_left = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Null when the capacity is unlimited."
    )


def decide(session: TrainingSession, user, now: datetime | None = None) -> JoinDecision:
    """``can_join`` for a row of ``sessions_app.api.queries``, without another query."""
    return can_join(
        session,
        user,
        now=now,
        taken=getattr(session, "seats_taken", None),
        user_holds_seat=getattr(session, "caller_holds_seat", None),
    )


class SessionSerializer(UTCModelSerializer):
    """A session as the API shows it, with ``can_join`` for the caller.

    Provider internals (``room_id``, ``room_url``, ``recording_id``, ``recording_url``) are
    left out: the room is entered through ``join``, which hands out the credentials.
    """

    instructor = PersonSerializer(read_only=True)
    event = EventSummarySerializer(read_only=True, allow_null=True)
    seats_left = serializers.SerializerMethodField(
        help_text="Seats still free; null when the capacity is unlimited."
    )
    can_join = serializers.SerializerMethodField()
    registered = serializers.SerializerMethodField(
        help_text="Whether the caller has registered (RSVP) for the session."
    )
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = TrainingSession
        fields = [
            "id",
            "title",
            "description",
            "event",
            "instructor",
            "start_time",
            "duration_minutes",
            "end_time",
            "capacity",
            "seats_left",
            "status",
            "started_at",
            "ended_at",
            "canceled_at",
            "end_reason",
            "room_status",
            "recording_enabled",
            "recording_status",
            "chat_enabled",
            "is_public",
            "members_only",
            "tags",
            "archived_at",
            "created_at",
            "updated_at",
            "can_join",
            "registered",
        ]
        read_only_fields = fields

    def _decision(self, session: TrainingSession) -> JoinDecision:
        # Asked once per row (seats_left and can_join both read it).
        cache = self.context.setdefault("_decisions", {})
        if session.pk not in cache:
            request = self.context.get("request")
            cache[session.pk] = decide(
                session, getattr(request, "user", None), self.context.get("now")
            )
        return cache[session.pk]

    def get_seats_left(self, session: TrainingSession) -> int | None:
        if session.capacity is None:
            return None
        taken = getattr(session, "seats_taken", None)
        if taken is None:
            return self._decision(session).seats_left
        return max(session.capacity - taken, 0)

    @extend_schema_field(CanJoinSerializer)
    def get_can_join(self, session: TrainingSession) -> dict[str, Any]:
        return can_join_data(self._decision(session))

    def get_registered(self, session: TrainingSession) -> bool:
        return bool(getattr(session, "caller_registered", False))


class AttendanceSerializer(UTCModelSerializer):
    """One person's attendance; watch time includes a segment still open."""

    user = PersonSerializer(read_only=True)
    watch_time_seconds = serializers.SerializerMethodField()
    watch_minutes = serializers.SerializerMethodField()
    present = serializers.BooleanField(source="is_present", read_only=True)

    class Meta:
        model = SessionAttendance
        fields = [
            "user",
            "joined_at",
            "left_at",
            "last_seen_at",
            "present",
            "watch_time_seconds",
            "watch_minutes",
        ]
        read_only_fields = fields

    def _seconds(self, row: SessionAttendance) -> int:
        return row.watch_seconds_at(self.context.get("now") or timezone.now())

    def get_watch_time_seconds(self, row: SessionAttendance) -> int:
        return self._seconds(row)

    def get_watch_minutes(self, row: SessionAttendance) -> float:
        return round(self._seconds(row) / 60, 1)


class CredentialsSerializer(serializers.Serializer):
    room_url = serializers.URLField(read_only=True)
    role = serializers.ChoiceField(choices=["host", "participant"], read_only=True)
    token = serializers.CharField(
        read_only=True, allow_null=True, help_text="Secret; null on the local provider."
    )
    provider = serializers.CharField(read_only=True)


class JoinResultSerializer(serializers.Serializer):
    """What a successful join returns: how to enter the room, and the seat taken."""

    credentials = CredentialsSerializer(read_only=True)
    attendance = AttendanceSerializer(read_only=True)
    rejoined = serializers.BooleanField(
        read_only=True, help_text="True when the caller already held a seat."
    )


# One instance for the process, for every join's answer: a new serializer deep-copies
# (and a model serializer first builds) its fields, which costs ten times the answer
# itself. It keeps no state between calls: no context, nothing validated.
_JOIN_RESULT = JoinResultSerializer()


def can_join_data(decision: JoinDecision) -> dict[str, Any]:
    """The ``can_join`` answer, as ``CanJoinSerializer(decision).data`` gives it, written
    as the lists write it (every refused join answers with one)."""
    return decision_json(decision)


def join_result_data(result) -> dict[str, Any]:
    """A join's answer, as ``JoinResultSerializer(result).data`` gives it.

    Watch time is counted up to the instant of the call (there is no request's "now"
    to share: the answer holds one row).
    """
    return _JOIN_RESULT.to_representation(result)


class RegistrationSerializer(UTCModelSerializer):
    session_id = serializers.UUIDField(read_only=True)
    registered = serializers.SerializerMethodField()

    class Meta:
        model = SessionRegistration
        fields = ["session_id", "registered", "created_at"]
        read_only_fields = fields

    def get_registered(self, registration) -> bool:
        return True


class ErrorSerializer(serializers.Serializer):
    """Every error answer: a human ``detail`` and a stable ``code``."""

    detail = serializers.CharField()
    code = serializers.CharField()


class ValidationErrorSerializer(ErrorSerializer):
    """A 400: ``detail`` and ``code``, then a list of messages per offending field."""

    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)


class JoinRefusedSerializer(ErrorSerializer):
    """A refused join: ``code`` is the ``can_join`` reason, ``can_join`` the whole answer."""

    can_join = CanJoinSerializer()
