"""Field rules for creating and changing a training session (SPEC §3).

One function, ``clean_session_fields``, turns the values a caller sent into clean values or
raises a ``ValidationError`` with a message per field. The API, the admin and the services
all go through it, so a rule is written once.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from events_app.models import Event
from sessions_app.models import (
    DESCRIPTION_MAX_LENGTH,
    MAX_CAPACITY,
    MAX_DURATION_MINUTES,
    MAX_TAGS,
    MIN_CAPACITY,
    MIN_DURATION_MINUTES,
    TAG_MAX_LENGTH,
    TITLE_MAX_LENGTH,
)
from wwmaa import roles

# The fields a caller may send, with the model field each one sets.
SESSION_INPUT_FIELDS = {
    "event_id": "event",
    "instructor_id": "instructor",
    "title": "title",
    "description": "description",
    "start_time": "start_time",
    "duration_minutes": "duration_minutes",
    "capacity": "capacity",
    "recording_enabled": "recording_enabled",
    "chat_enabled": "chat_enabled",
    "is_public": "is_public",
    "members_only": "members_only",
    "tags": "tags",
}
REQUIRED_ON_CREATE = ("title", "start_time", "duration_minutes")
BOOLEAN_FIELDS = ("recording_enabled", "chat_enabled", "is_public", "members_only")

NAIVE_DATETIME_MESSAGE = (
    "Include a time zone offset (for example 2026-03-01T18:00:00Z or +01:00); "
    "a time without one is ambiguous."
)


def _clean_title(value: Any) -> str:
    if value is None or not isinstance(value, str) or not value.strip():
        raise ValidationError("A title is required.", code="required")
    value = value.strip()
    if len(value) > TITLE_MAX_LENGTH:
        raise ValidationError(
            f"The title can be at most {TITLE_MAX_LENGTH} characters (it has {len(value)}).",
            code="max_length",
        )
    return value


def _clean_description(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError("The description must be text.", code="invalid")
    value = value.strip()
    if len(value) > DESCRIPTION_MAX_LENGTH:
        raise ValidationError(
            f"The description can be at most {DESCRIPTION_MAX_LENGTH} characters "
            f"(it has {len(value)}).",
            code="max_length",
        )
    return value


def _clean_start_time(value: Any, now: datetime) -> datetime:
    if value is None:
        raise ValidationError("A start time is required.", code="required")
    if not isinstance(value, datetime):
        raise ValidationError("The start time must be a date and time.", code="invalid")
    if timezone.is_naive(value):
        raise ValidationError(NAIVE_DATETIME_MESSAGE, code="naive_datetime")
    if value <= now:
        raise ValidationError("The start time must be in the future.", code="in_past")
    # Kept in UTC from here on: Python adds a timedelta to an aware datetime in the
    # wall-clock time of its own zone, so end_time = start + duration, computed before the
    # row is saved, would be an hour off for a session crossing a DST change in that zone.
    return value.astimezone(UTC)


def _clean_int(value: Any, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"The {what} must be a whole number.", code="invalid")
    if not low <= value <= high:
        raise ValidationError(
            f"The {what} must be between {low:,} and {high:,}.", code="out_of_range"
        )
    return value


def _clean_duration(value: Any) -> int:
    if value is None:
        raise ValidationError("A duration is required.", code="required")
    return _clean_int(value, MIN_DURATION_MINUTES, MAX_DURATION_MINUTES, "duration in minutes")


def _clean_capacity(value: Any) -> int | None:
    if value is None:
        return None
    return _clean_int(value, MIN_CAPACITY, MAX_CAPACITY, "capacity")


def _clean_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("Must be true or false.", code="invalid")
    return value


def clean_tags(value: Any) -> list[str]:
    """Tags are short, case-insensitive labels: stripped, lower-cased, unique, in order."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValidationError("Tags must be a list of short strings.", code="invalid")
    tags: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValidationError("Each tag must be a non-empty string.", code="invalid")
        tag = " ".join(item.split()).lower()
        if len(tag) > TAG_MAX_LENGTH:
            raise ValidationError(
                f"Each tag can be at most {TAG_MAX_LENGTH} characters.", code="max_length"
            )
        if tag not in tags:
            tags.append(tag)
            if len(tags) > MAX_TAGS:
                # Stop here: checking each further tag against the list grows with its
                # square, and a body of 100,000 tags took a minute.
                break
    if len(tags) > MAX_TAGS:
        raise ValidationError(f"At most {MAX_TAGS} tags.", code="too_many")
    return tags


def _clean_event(value: Any) -> Event | None:
    if value is None or value == "":
        return None
    if isinstance(value, Event):
        return value
    try:
        return Event.objects.get(pk=uuid.UUID(str(value)))
    except (ValueError, Event.DoesNotExist):
        raise ValidationError("event not found", code="not_found") from None


def _clean_instructor(value: Any, actor):
    User = get_user_model()
    if isinstance(value, User):
        user = value
    else:
        # Only a whole number or its digits: int() would also turn True into user 1
        # and 2.7 into user 2.
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValidationError("instructor not found", code="not_found")
        try:
            user = User.objects.get(pk=int(value))
        except (ValueError, User.DoesNotExist):
            raise ValidationError("instructor not found", code="not_found") from None
    if user.pk != actor.pk and not roles.can_assign_instructor(actor):
        raise ValidationError(
            "Only board members and admins may choose another instructor.",
            code="forbidden",
        )
    if not roles.can_teach(user):
        raise ValidationError(f"{user.display_name} is not an instructor.", code="not_instructor")
    return user


def clean_session_fields(
    data: dict[str, Any],
    *,
    actor,
    creating: bool,
    now: datetime | None = None,
    current_start_time: datetime | None = None,
) -> dict[str, Any]:
    """Check the given input fields and return them under their model field names.

    ``data`` holds only the fields the caller sent (all of them for a create). A start
    time equal to ``current_start_time`` is not a move, so an unchanged past start time is
    accepted on update. Raises ``ValidationError`` with a message per input field name.
    """
    now = now or timezone.now()
    unknown = set(data) - set(SESSION_INPUT_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Unknown field."))

    errors: dict[str, list[ValidationError]] = {}
    cleaned: dict[str, Any] = {}
    if creating:
        for name in REQUIRED_ON_CREATE:
            if data.get(name) is None:
                data = {**data, name: None}

    def run(name: str, func, *args):
        try:
            cleaned[SESSION_INPUT_FIELDS[name]] = func(data[name], *args)
        except ValidationError as exc:
            errors.setdefault(name, []).append(exc)

    for name in data:
        if name == "title":
            run(name, _clean_title)
        elif name == "description":
            run(name, _clean_description)
        elif name == "start_time":
            value = data[name]
            if current_start_time is not None and value == current_start_time:
                cleaned["start_time"] = current_start_time
            else:
                run(name, _clean_start_time, now)
        elif name == "duration_minutes":
            run(name, _clean_duration)
        elif name == "capacity":
            run(name, _clean_capacity)
        elif name in BOOLEAN_FIELDS:
            run(name, _clean_bool)
        elif name == "tags":
            run(name, clean_tags)
        elif name == "event_id":
            run(name, _clean_event)
        elif name == "instructor_id":
            if data[name] is None:
                if creating:
                    continue
                errors["instructor_id"] = [ValidationError("An instructor is required.")]
            else:
                run(name, _clean_instructor, actor)
    if errors:
        raise ValidationError(errors)
    return cleaned
