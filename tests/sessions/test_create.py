"""create_session: the field rules of SPEC §3, who may create, and the overlap rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from sessions_app import services
from sessions_app.models import RoomStatus, SessionStatus, TrainingSession
from sessions_app.services.validation import NAIVE_DATETIME_MESSAGE
from tests.conftest import NOW

pytestmark = pytest.mark.usefixtures("frozen")

IN_TWO_HOURS = NOW + timedelta(hours=2)


def payload(**overrides) -> dict:
    """A valid create body; overrides replace or add fields, ``None`` values included."""
    data = {"title": "Kata fundamentals", "start_time": IN_TWO_HOURS, "duration_minutes": 60}
    data.update(overrides)
    return data


def without(name: str) -> dict:
    data = payload()
    del data[name]
    return data


def field_errors(actor, data: dict) -> dict[str, list[str]]:
    """The per-field messages create_session refuses ``data`` with; nothing is written."""
    with pytest.raises(ValidationError) as excinfo:
        services.create_session(actor, data)
    assert not TrainingSession.objects.exists()
    return excinfo.value.message_dict


# The session that is created


def test_an_instructor_creates_a_scheduled_session_with_the_defaults(instructor):
    session = services.create_session(instructor, payload())

    session.refresh_from_db()
    assert session.instructor == instructor
    assert session.status == SessionStatus.SCHEDULED
    assert session.title == "Kata fundamentals"
    assert session.description == ""
    assert session.start_time == IN_TWO_HOURS
    assert session.end_time == IN_TWO_HOURS + timedelta(minutes=60)
    assert session.capacity is None
    assert session.event is None
    assert session.tags == []
    assert (session.recording_enabled, session.chat_enabled) == (False, True)
    assert (session.is_public, session.members_only) == (False, True)
    assert (session.started_at, session.ended_at, session.canceled_at) == (None, None, None)
    assert session.end_reason is None


def test_it_leaves_the_room_pending_for_a_worker_to_create(instructor):
    session = services.create_session(instructor, payload())

    session.refresh_from_db()
    assert session.room_status == RoomStatus.PENDING
    assert (session.room_id, session.room_url) == (None, None)


def test_it_derives_the_end_time_from_the_start_and_the_duration(instructor):
    session = services.create_session(instructor, payload(duration_minutes=45))

    assert session.end_time == IN_TWO_HOURS + timedelta(minutes=45)
    session.refresh_from_db()
    assert session.end_time == IN_TWO_HOURS + timedelta(minutes=45)


def test_it_stores_every_optional_field_it_was_given(instructor, event):
    session = services.create_session(
        instructor,
        payload(
            description="Heian shodan, slowly.",
            capacity=12,
            recording_enabled=True,
            chat_enabled=False,
            is_public=True,
            members_only=False,
            tags=["kata"],
            event_id=str(event.pk),
        ),
    )

    session.refresh_from_db()
    assert session.description == "Heian shodan, slowly."
    assert session.capacity == 12
    assert (session.recording_enabled, session.chat_enabled) == (True, False)
    assert (session.is_public, session.members_only) == (True, False)
    assert session.tags == ["kata"]
    assert session.event == event


def test_it_refuses_an_unknown_field(instructor):
    assert field_errors(instructor, payload(room_url="https://example.com")) == {
        "room_url": ["Unknown field."]
    }


def test_it_reports_every_bad_field_at_once(instructor):
    errors = field_errors(instructor, payload(title=" ", duration_minutes=5, capacity=0))

    assert set(errors) == {"title", "duration_minutes", "capacity"}


# title


def test_it_strips_the_title(instructor):
    session = services.create_session(instructor, payload(title="  Kata \n"))

    assert session.title == "Kata"


@pytest.mark.parametrize("title", [None, "", "   ", 42])
def test_it_requires_a_title(instructor, title):
    assert field_errors(instructor, payload(title=title)) == {"title": ["A title is required."]}


def test_it_requires_a_title_when_none_is_sent(instructor):
    assert field_errors(instructor, without("title")) == {"title": ["A title is required."]}


def test_it_accepts_a_title_of_200_characters_after_stripping(instructor):
    session = services.create_session(instructor, payload(title="  " + "k" * 200 + "  "))

    assert session.title == "k" * 200


def test_it_refuses_a_title_of_201_characters(instructor):
    assert field_errors(instructor, payload(title="k" * 201)) == {
        "title": ["The title can be at most 200 characters (it has 201)."]
    }


# description


def test_it_stores_no_description_as_an_empty_one(instructor):
    session = services.create_session(instructor, payload(description=None))

    assert session.description == ""


def test_it_accepts_a_description_of_5000_characters(instructor):
    session = services.create_session(instructor, payload(description="d" * 5000))

    assert len(session.description) == 5000


def test_it_refuses_a_description_of_5001_characters(instructor):
    assert field_errors(instructor, payload(description="d" * 5001)) == {
        "description": ["The description can be at most 5000 characters (it has 5001)."]
    }


def test_it_refuses_a_description_that_is_not_text(instructor):
    assert field_errors(instructor, payload(description=["a"])) == {
        "description": ["The description must be text."]
    }


# start_time


def test_it_requires_a_start_time(instructor):
    assert field_errors(instructor, without("start_time")) == {
        "start_time": ["A start time is required."]
    }


def test_it_refuses_a_start_time_that_is_not_a_datetime(instructor):
    assert field_errors(instructor, payload(start_time="2026-06-01T18:00:00Z")) == {
        "start_time": ["The start time must be a date and time."]
    }


def test_it_refuses_a_naive_start_time_with_a_clear_message(instructor):
    errors = field_errors(instructor, payload(start_time=datetime(2026, 6, 1, 18, 0)))

    assert errors == {"start_time": [NAIVE_DATETIME_MESSAGE]}
    assert "time zone offset" in NAIVE_DATETIME_MESSAGE


def test_it_refuses_a_start_time_in_the_past(instructor):
    assert field_errors(instructor, payload(start_time=NOW - timedelta(minutes=1))) == {
        "start_time": ["The start time must be in the future."]
    }


def test_it_refuses_a_start_time_of_right_now(instructor):
    assert field_errors(instructor, payload(start_time=NOW)) == {
        "start_time": ["The start time must be in the future."]
    }


def test_it_accepts_a_start_time_one_second_ahead(instructor):
    session = services.create_session(instructor, payload(start_time=NOW + timedelta(seconds=1)))

    assert session.start_time == NOW + timedelta(seconds=1)


def test_it_judges_the_future_against_the_now_it_is_given(instructor):
    later = NOW + timedelta(hours=3)

    with pytest.raises(ValidationError) as excinfo:
        services.create_session(instructor, payload(), now=later)

    assert excinfo.value.message_dict == {"start_time": ["The start time must be in the future."]}


def test_it_keeps_the_instant_of_a_start_time_given_in_another_zone(instructor):
    tokyo = IN_TWO_HOURS.astimezone(ZoneInfo("Asia/Tokyo"))

    session = services.create_session(instructor, payload(start_time=tokyo))

    session.refresh_from_db()
    assert session.start_time == IN_TWO_HOURS
    assert session.start_time.utcoffset() == timedelta(0)


# duration_minutes


def test_it_requires_a_duration(instructor):
    assert field_errors(instructor, without("duration_minutes")) == {
        "duration_minutes": ["A duration is required."]
    }


@pytest.mark.parametrize("minutes", [15, 480])
def test_it_accepts_the_shortest_and_longest_durations(instructor, minutes):
    session = services.create_session(instructor, payload(duration_minutes=minutes))

    assert session.duration_minutes == minutes
    assert session.end_time == IN_TWO_HOURS + timedelta(minutes=minutes)


@pytest.mark.parametrize("minutes", [0, 14, 481, -60])
def test_it_refuses_a_duration_outside_15_to_480_minutes(instructor, minutes):
    assert field_errors(instructor, payload(duration_minutes=minutes)) == {
        "duration_minutes": ["The duration in minutes must be between 15 and 480."]
    }


@pytest.mark.parametrize("minutes", ["60", 60.0, True])
def test_it_refuses_a_duration_that_is_not_a_whole_number(instructor, minutes):
    assert field_errors(instructor, payload(duration_minutes=minutes)) == {
        "duration_minutes": ["The duration in minutes must be a whole number."]
    }


# capacity


def test_it_treats_no_capacity_as_unlimited(instructor):
    session = services.create_session(instructor, payload(capacity=None))

    assert session.capacity is None


@pytest.mark.parametrize("capacity", [1, 1000])
def test_it_accepts_a_capacity_of_1_to_1000(instructor, capacity):
    session = services.create_session(instructor, payload(capacity=capacity))

    session.refresh_from_db()
    assert session.capacity == capacity


@pytest.mark.parametrize("capacity", [0, 1001, -5])
def test_it_refuses_a_capacity_outside_1_to_1000(instructor, capacity):
    assert field_errors(instructor, payload(capacity=capacity)) == {
        "capacity": ["The capacity must be between 1 and 1,000."]
    }


def test_it_refuses_a_capacity_that_is_not_a_whole_number(instructor):
    assert field_errors(instructor, payload(capacity="10")) == {
        "capacity": ["The capacity must be a whole number."]
    }


# booleans

BOOLEANS = ["recording_enabled", "chat_enabled", "is_public", "members_only"]


@pytest.mark.parametrize("name", BOOLEANS)
@pytest.mark.parametrize("value", [True, False])
def test_it_stores_each_boolean_as_given(instructor, name, value):
    session = services.create_session(instructor, payload(**{name: value}))

    session.refresh_from_db()
    assert getattr(session, name) is value


@pytest.mark.parametrize("name", BOOLEANS)
@pytest.mark.parametrize("value", ["yes", 1, None])
def test_it_refuses_a_boolean_that_is_not_true_or_false(instructor, name, value):
    assert field_errors(instructor, payload(**{name: value})) == {name: ["Must be true or false."]}


# tags


def test_it_normalises_tags_to_unique_lower_case_labels_in_order(instructor):
    session = services.create_session(
        instructor, payload(tags=["  Kata ", "Sparring   Drills", "kata", "KATA", "belt\ttest"])
    )

    session.refresh_from_db()
    assert session.tags == ["kata", "sparring drills", "belt test"]


def test_it_stores_no_tags_as_an_empty_list(instructor):
    session = services.create_session(instructor, payload(tags=None))

    assert session.tags == []


def test_it_refuses_tags_that_are_not_a_list(instructor):
    assert field_errors(instructor, payload(tags="kata")) == {
        "tags": ["Tags must be a list of short strings."]
    }


@pytest.mark.parametrize("tag", ["", "   ", 7, None])
def test_it_refuses_an_empty_or_non_text_tag(instructor, tag):
    assert field_errors(instructor, payload(tags=["kata", tag])) == {
        "tags": ["Each tag must be a non-empty string."]
    }


def test_it_accepts_a_tag_of_40_characters(instructor):
    session = services.create_session(instructor, payload(tags=["t" * 40]))

    assert session.tags == ["t" * 40]


def test_it_refuses_a_tag_of_41_characters(instructor):
    assert field_errors(instructor, payload(tags=["t" * 41])) == {
        "tags": ["Each tag can be at most 40 characters."]
    }


def test_it_accepts_20_tags(instructor):
    session = services.create_session(instructor, payload(tags=[f"tag {i}" for i in range(20)]))

    assert len(session.tags) == 20


def test_it_refuses_21_tags(instructor):
    assert field_errors(instructor, payload(tags=[f"tag {i}" for i in range(21)])) == {
        "tags": ["At most 20 tags."]
    }


def test_it_counts_tags_after_removing_duplicates(instructor):
    tags = [f"tag {i}" for i in range(20)] + [f"TAG {i}" for i in range(5)]

    session = services.create_session(instructor, payload(tags=tags))

    assert session.tags == [f"tag {i}" for i in range(20)]


# event_id


def test_it_links_the_event_by_its_id(instructor, event):
    session = services.create_session(instructor, payload(event_id=event.pk))

    session.refresh_from_db()
    assert session.event == event


@pytest.mark.parametrize("event_id", [None, ""])
def test_it_accepts_no_event(instructor, event_id):
    session = services.create_session(instructor, payload(event_id=event_id))

    assert session.event is None


@pytest.mark.parametrize("event_id", ["0b6f3d1e-8c1a-4f0e-9a55-2f7f3c0c9d11", "not-a-uuid", 12])
def test_it_refuses_an_event_that_does_not_exist(instructor, event, event_id):
    assert field_errors(instructor, payload(event_id=event_id)) == {"event_id": ["event not found"]}


# instructor_id


def test_the_creator_is_the_instructor_by_default(board_member):
    session = services.create_session(board_member, payload())

    assert session.instructor == board_member


def test_an_instructor_may_name_themselves(instructor):
    session = services.create_session(instructor, payload(instructor_id=instructor.pk))

    assert session.instructor == instructor


def test_an_instructor_may_not_choose_another_instructor(instructor, other_instructor):
    assert field_errors(instructor, payload(instructor_id=other_instructor.pk)) == {
        "instructor_id": ["Only board members and admins may choose another instructor."]
    }


@pytest.mark.parametrize("actor_fixture", ["board_member", "admin_user"])
def test_a_board_member_or_admin_may_choose_another_instructor(
    request, actor_fixture, other_instructor
):
    actor = request.getfixturevalue(actor_fixture)

    session = services.create_session(actor, payload(instructor_id=other_instructor.pk))

    session.refresh_from_db()
    assert session.instructor == other_instructor


def test_the_chosen_instructor_must_be_an_instructor(board_member, member):
    assert field_errors(board_member, payload(instructor_id=member.pk)) == {
        "instructor_id": ["mia is not an instructor."]
    }


@pytest.mark.parametrize("instructor_id", [999_999, "abc", [1], True, 2.5])
def test_it_refuses_an_instructor_that_does_not_exist(board_member, instructor_id):
    assert field_errors(board_member, payload(instructor_id=instructor_id)) == {
        "instructor_id": ["instructor not found"]
    }


# Who may create


@pytest.mark.parametrize("actor_fixture", ["instructor", "board_member", "admin_user"])
def test_instructors_board_members_and_admins_may_create(request, actor_fixture):
    actor = request.getfixturevalue(actor_fixture)

    session = services.create_session(actor, payload())

    assert TrainingSession.objects.get().pk == session.pk


@pytest.mark.parametrize("actor_fixture", ["public_user", "member"])
def test_public_users_and_members_may_not_create(request, actor_fixture):
    actor = request.getfixturevalue(actor_fixture)

    with pytest.raises(services.NotAllowed) as excinfo:
        # Bad input too: the role is refused before the fields are judged.
        services.create_session(actor, payload(title=""))

    assert excinfo.value.code == "forbidden"
    assert not TrainingSession.objects.exists()


def test_an_anonymous_visitor_must_log_in(db, anonymous):
    with pytest.raises(services.LoginRequired) as excinfo:
        services.create_session(anonymous, payload())

    assert excinfo.value.code == "login_required"
    assert not TrainingSession.objects.exists()


def test_an_inactive_instructor_may_not_create(instructor):
    instructor.is_active = False
    instructor.save()

    with pytest.raises(services.NotAllowed):
        services.create_session(instructor, payload())


# Overlap


def overlap_error(actor, data: dict) -> services.Conflict:
    before = TrainingSession.objects.count()
    with pytest.raises(services.Conflict) as excinfo:
        services.create_session(actor, data)
    assert TrainingSession.objects.count() == before
    return excinfo.value


def test_it_refuses_an_overlapping_session_naming_the_other(instructor, make_session):
    other = make_session(title="Bo staff basics")  # 18:00–19:00 UTC

    error = overlap_error(instructor, payload(start_time=IN_TWO_HOURS + timedelta(minutes=30)))

    assert error.code == "overlap"
    assert "Bo staff basics" in error.message
    assert "Kenji Sato" in error.message
    assert error.extra["conflicting_session_id"] == str(other.pk)
    assert error.extra["conflicting_session_title"] == "Bo staff basics"


def test_the_overlap_message_shows_the_other_session_in_the_actors_time_zone(
    instructor, make_session
):
    make_session(title="Bo staff basics")  # 18:00–19:00 UTC is 11:00–12:00 in Los Angeles

    error = overlap_error(instructor, payload())

    assert "Mon 1 Jun 2026, 11:00–12:00 PDT" in error.message


@pytest.mark.parametrize(
    ("start", "minutes"),
    [
        (IN_TWO_HOURS, 60),  # the same slot
        (IN_TWO_HOURS - timedelta(minutes=30), 60),  # runs into its start
        (IN_TWO_HOURS + timedelta(minutes=59), 15),  # starts before its end
        (IN_TWO_HOURS + timedelta(minutes=15), 15),  # inside it
        (IN_TWO_HOURS - timedelta(minutes=30), 120),  # around it
    ],
)
def test_it_refuses_every_kind_of_overlap(instructor, make_session, start, minutes):
    make_session()

    assert overlap_error(instructor, payload(start_time=start, duration_minutes=minutes)).code == (
        "overlap"
    )


def test_back_to_back_sessions_are_fine(instructor, make_session):
    make_session()  # 18:00–19:00

    before = services.create_session(
        instructor, payload(title="Before", start_time=IN_TWO_HOURS - timedelta(minutes=60))
    )
    after = services.create_session(
        instructor, payload(title="After", start_time=IN_TWO_HOURS + timedelta(minutes=60))
    )

    assert before.end_time == IN_TWO_HOURS
    assert after.start_time == IN_TWO_HOURS + timedelta(minutes=60)


def test_a_canceled_session_does_not_count(instructor, make_session):
    make_session(status=SessionStatus.CANCELED, canceled_at=NOW)

    session = services.create_session(instructor, payload())

    assert session.status == SessionStatus.SCHEDULED


def test_an_ended_session_still_counts(instructor, make_session):
    # Started early and already over, but its slot was still booked.
    ended = make_session(
        title="Early bird",
        start_time=NOW + timedelta(minutes=20),
        status=SessionStatus.ENDED,
        started_at=NOW - timedelta(minutes=10),
        ended_at=NOW,
    )

    error = overlap_error(instructor, payload(start_time=NOW + timedelta(minutes=30)))

    assert error.extra["conflicting_session_id"] == str(ended.pk)


def test_a_live_session_counts(instructor, make_session):
    make_session(start_time=NOW + timedelta(minutes=20), status=SessionStatus.LIVE)

    assert overlap_error(instructor, payload(start_time=NOW + timedelta(minutes=30))).code == (
        "overlap"
    )


def test_another_instructors_session_does_not_count(instructor, other_instructor, make_session):
    make_session(instructor=other_instructor)

    session = services.create_session(instructor, payload())

    assert session.instructor == instructor


def test_it_checks_the_overlap_for_the_chosen_instructor(
    board_member, other_instructor, make_session
):
    make_session(instructor=board_member, title="Board's own class")
    theirs = make_session(instructor=other_instructor, title="Maria's class")

    error = overlap_error(board_member, payload(instructor_id=other_instructor.pk))

    assert error.extra["conflicting_session_id"] == str(theirs.pk)
    assert "Maria Lopez" in error.message


def test_validate_session_input_reports_an_overlap_without_writing(instructor, make_session):
    make_session()

    with pytest.raises(services.Conflict) as excinfo:
        services.validate_session_input(instructor, payload())

    assert excinfo.value.code == "overlap"
    assert TrainingSession.objects.count() == 1


def test_validate_session_input_accepts_good_input_without_writing(instructor):
    services.validate_session_input(instructor, payload())

    assert not TrainingSession.objects.exists()


def test_the_stored_times_are_utc(instructor):
    session = services.create_session(
        instructor, payload(start_time=datetime(2026, 6, 2, 9, 0, tzinfo=UTC))
    )

    session.refresh_from_db()
    assert session.start_time.utcoffset() == timedelta(0)
    assert session.end_time == datetime(2026, 6, 2, 10, 0, tzinfo=UTC)
