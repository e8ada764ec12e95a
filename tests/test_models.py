"""The database holds the rules even for code that bypasses the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from events_app.models import Event
from sessions_app.models import SessionAttendance, SessionRegistration, TrainingSession
from tests.conftest import NOW


def refused_by_the_database(create) -> str:
    """Run ``create`` expecting an IntegrityError; return its message.

    The savepoint keeps the test's transaction usable afterwards on PostgreSQL.
    """
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        create()
    return str(excinfo.value)


# Check constraints on training sessions.


@pytest.mark.parametrize("minutes", [14, 481])
def test_the_database_refuses_a_duration_out_of_range(make_session, minutes):
    error = refused_by_the_database(lambda: make_session(duration_minutes=minutes))

    assert "session_duration_range" in error
    assert not TrainingSession.objects.exists()


@pytest.mark.parametrize("minutes", [15, 480])
def test_the_database_accepts_the_duration_bounds(make_session, minutes):
    assert make_session(duration_minutes=minutes).duration_minutes == minutes


@pytest.mark.parametrize("capacity", [0, 1001])
def test_the_database_refuses_a_capacity_out_of_range(make_session, capacity):
    error = refused_by_the_database(lambda: make_session(capacity=capacity))

    assert "session_capacity_range" in error


@pytest.mark.parametrize("capacity", [None, 1, 1000])
def test_the_database_accepts_unlimited_and_the_capacity_bounds(make_session, capacity):
    assert make_session(capacity=capacity).capacity == capacity


def test_the_database_refuses_an_empty_title(make_session):
    error = refused_by_the_database(lambda: make_session(title=""))

    assert "session_title_not_empty" in error


def test_the_database_refuses_an_unknown_status(make_session):
    error = refused_by_the_database(lambda: make_session(status="paused"))

    assert "session_status_valid" in error


# One attendance row and one registration per person and session.


def test_the_database_keeps_one_attendance_row_per_person_and_session(make_session, member):
    session = make_session()
    SessionAttendance.objects.create(session=session, user=member, joined_at=NOW)

    refused_by_the_database(
        lambda: SessionAttendance.objects.create(session=session, user=member, joined_at=NOW)
    )

    assert SessionAttendance.objects.count() == 1


def test_one_person_attends_several_sessions_and_several_people_one_session(
    make_session, member, other_member
):
    first = make_session()
    second = make_session(start_time=NOW + timedelta(days=1))

    SessionAttendance.objects.create(session=first, user=member, joined_at=NOW)
    SessionAttendance.objects.create(session=second, user=member, joined_at=NOW)
    SessionAttendance.objects.create(session=first, user=other_member, joined_at=NOW)

    assert SessionAttendance.objects.count() == 3


def test_the_database_keeps_one_registration_per_person_and_session(make_session, member):
    session = make_session()
    SessionRegistration.objects.create(session=session, user=member)

    refused_by_the_database(
        lambda: SessionRegistration.objects.create(session=session, user=member)
    )

    assert SessionRegistration.objects.count() == 1


# end_time is derived and stored; every save keeps it in step.


def test_end_time_is_start_time_plus_duration_on_create(make_session):
    session = make_session(start_time=NOW, duration_minutes=90)

    session.refresh_from_db()
    assert session.end_time == NOW + timedelta(minutes=90)


def test_end_time_follows_a_moved_start_time_saved_with_update_fields(make_session):
    session = make_session(start_time=NOW, duration_minutes=60)

    session.start_time = NOW + timedelta(days=1)
    session.save(update_fields=["start_time"])

    session.refresh_from_db()
    assert session.end_time == NOW + timedelta(days=1, minutes=60)


def test_end_time_follows_a_changed_duration_saved_with_update_fields(make_session):
    session = make_session(start_time=NOW, duration_minutes=60)

    session.duration_minutes = 120
    session.save(update_fields=["duration_minutes"])

    session.refresh_from_db()
    assert session.end_time == NOW + timedelta(minutes=120)


def test_end_time_follows_a_full_save(make_session):
    session = make_session(start_time=NOW, duration_minutes=60)

    session.start_time = NOW + timedelta(hours=3)
    session.duration_minutes = 30
    session.save()

    session.refresh_from_db()
    assert session.end_time == NOW + timedelta(hours=3, minutes=30)


# The has_tag lookup: an exact element of the list, on SQLite and PostgreSQL alike.


@pytest.fixture
def tagged(make_session):
    def make(title: str, tags: list[str]) -> TrainingSession:
        return make_session(
            title=title,
            tags=tags,
            start_time=NOW + timedelta(days=TrainingSession.objects.count() + 1),
        )

    return {
        "kata": make("Kata", ["kata"]),
        "kata_beginners": make("Kata for beginners", ["kata", "beginners"]),
        "advanced": make("Advanced kata", ["kata-advanced", "black belt"]),
        "untagged": make("Open mat", []),
    }


def titles(queryset) -> set[str]:
    return set(queryset.values_list("title", flat=True))


def test_has_tag_finds_sessions_carrying_the_exact_tag(tagged):
    found = TrainingSession.objects.filter(tags__has_tag="kata")

    assert titles(found) == {"Kata", "Kata for beginners"}


def test_has_tag_does_not_match_part_of_a_tag(tagged):
    assert not TrainingSession.objects.filter(tags__has_tag="kat").exists()
    assert not TrainingSession.objects.filter(tags__has_tag="advanced").exists()
    assert titles(TrainingSession.objects.filter(tags__has_tag="kata-advanced")) == {
        "Advanced kata"
    }


def test_has_tag_matches_a_tag_with_a_space(tagged):
    assert titles(TrainingSession.objects.filter(tags__has_tag="black belt")) == {"Advanced kata"}


def test_has_tag_finds_any_tag_of_a_session_with_several(tagged):
    assert titles(TrainingSession.objects.filter(tags__has_tag="beginners")) == {
        "Kata for beginners"
    }


def test_has_tag_filters_chain_to_require_every_tag(tagged):
    found = TrainingSession.objects.filter(tags__has_tag="kata").filter(tags__has_tag="beginners")

    assert titles(found) == {"Kata for beginners"}


def test_has_tag_never_matches_a_session_without_tags(tagged):
    assert "Open mat" not in titles(TrainingSession.objects.filter(tags__has_tag=""))
    assert titles(TrainingSession.objects.exclude(tags__has_tag="kata")) == {
        "Advanced kata",
        "Open mat",
    }


def test_has_tag_treats_quotes_and_wildcards_as_plain_text(tagged, make_session):
    make_session(title="Odd", tags=['"kata"', "%"], start_time=NOW + timedelta(days=30))

    assert titles(TrainingSession.objects.filter(tags__has_tag='"kata"')) == {"Odd"}
    assert titles(TrainingSession.objects.filter(tags__has_tag="%")) == {"Odd"}


# Users and events.


def test_a_user_with_an_unknown_time_zone_does_not_validate(member):
    member.timezone = "Mars/Olympus"

    with pytest.raises(ValidationError) as excinfo:
        member.full_clean()

    assert excinfo.value.message_dict == {
        "timezone": [
            "Mars/Olympus is not a known time zone (use an IANA name such as Europe/Berlin)."
        ]
    }


def test_a_user_with_an_iana_time_zone_validates(member):
    member.timezone = "Asia/Tokyo"

    member.full_clean()


def test_the_database_refuses_an_event_that_ends_before_it_starts(db):
    error = refused_by_the_database(
        lambda: Event.objects.create(
            title="Backwards camp", starts_at=NOW, ends_at=NOW - timedelta(minutes=1)
        )
    )

    assert "event_ends_after_start" in error


def test_an_event_may_start_and_end_at_the_same_instant(db):
    assert Event.objects.create(title="Announcement", starts_at=NOW, ends_at=NOW).pk


def test_tags_have_a_gin_index_exactly_where_the_database_has_gin(db):
    from django.db import connection

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(
            cursor, TrainingSession._meta.db_table
        )
    has_gin = "session_tags_gin_idx" in constraints
    assert has_gin is (connection.vendor == "postgresql")
