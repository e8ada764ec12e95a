"""Sessions across a daylight-saving change: durations are real elapsed time.

Los Angeles springs forward on 14 March 2027 (02:00 PST becomes 03:00 PDT) and falls back
on 1 November 2026 (02:00 PDT becomes 01:00 PST, so 01:30 happens twice). Berlin springs
forward on the last Sunday of March, 28 March 2027 (02:00 CET becomes 03:00 CEST).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from sessions_app import services
from sessions_app.models import SessionAttendance, SessionStatus
from tests.conftest import NOW, make_user
from wwmaa.models import Role

LA = ZoneInfo("America/Los_Angeles")
BERLIN = ZoneInfo("Europe/Berlin")

# 01:30 PST, half an hour before the clocks spring forward.
SPRING_START_LOCAL = datetime(2027, 3, 14, 1, 30, tzinfo=LA)
SPRING_START = datetime(2027, 3, 14, 9, 30, tzinfo=UTC)
SPRING_END = datetime(2027, 3, 14, 11, 30, tzinfo=UTC)  # 04:30 PDT, not 03:30


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


def create(actor, start: datetime, minutes: int = 120, **extra):
    data = {"title": "Night owl kata", "start_time": start, "duration_minutes": minutes, **extra}
    return services.create_session(actor, data, now=NOW)


@pytest.fixture
def spring_session(instructor):
    return create(instructor, SPRING_START_LOCAL)


# The end time is the start plus the duration in elapsed time


def test_a_session_across_the_spring_change_lasts_its_full_duration(instructor):
    session = create(instructor, SPRING_START_LOCAL)

    assert session.start_time == SPRING_START
    assert session.end_time == SPRING_END
    assert utc(session.end_time) - utc(session.start_time) == timedelta(minutes=120)
    assert session.end_time.astimezone(LA).strftime("%H:%M %Z") == "04:30 PDT"

    session.refresh_from_db()
    assert (session.start_time, session.end_time) == (SPRING_START, SPRING_END)


def test_a_session_in_the_first_of_the_repeated_autumn_hours_lasts_its_full_duration(
    instructor,
):
    start = datetime(2026, 11, 1, 1, 30, tzinfo=LA)  # fold=0: the first 01:30, PDT

    session = create(instructor, start)

    session.refresh_from_db()
    assert session.start_time == datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
    assert session.end_time == datetime(2026, 11, 1, 10, 30, tzinfo=UTC)
    assert session.end_time.astimezone(LA).strftime("%H:%M %Z") == "02:30 PST"


def test_a_session_in_the_second_of_the_repeated_autumn_hours_lasts_its_full_duration(
    instructor,
):
    start = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=LA)  # the second 01:30, PST

    session = create(instructor, start)

    session.refresh_from_db()
    assert session.start_time == datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    assert session.end_time == datetime(2026, 11, 1, 11, 30, tzinfo=UTC)
    assert session.end_time.astimezone(LA).strftime("%H:%M %Z") == "03:30 PST"


def test_moving_a_session_onto_the_spring_change_keeps_its_full_duration(instructor, make_session):
    session = make_session(duration_minutes=120)

    services.update_session(instructor, session.pk, {"start_time": SPRING_START_LOCAL}, now=NOW)

    session.refresh_from_db()
    assert (session.start_time, session.end_time) == (SPRING_START, SPRING_END)


def test_the_overlap_rule_uses_elapsed_time_across_the_autumn_change(instructor):
    first = create(instructor, datetime(2026, 11, 1, 1, 30, tzinfo=LA))  # 01:30 PDT–02:30 PST

    # The second 01:30 of the night is inside the first session...
    with pytest.raises(services.Conflict) as excinfo:
        create(instructor, datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=LA), minutes=30)
    assert excinfo.value.extra["conflicting_session_id"] == str(first.pk)

    # ...and 02:30 PST is right after it, not an hour inside it.
    after = create(instructor, datetime(2026, 11, 1, 2, 30, tzinfo=LA), minutes=30)
    assert utc(after.start_time) == utc(first.end_time)


# The windows at fixed instants around the change


@pytest.mark.parametrize(
    ("at", "code"),
    [
        (datetime(2027, 3, 14, 0, 59, 59, tzinfo=LA), "too_early"),
        (datetime(2027, 3, 14, 3, 30, tzinfo=LA), None),  # 03:30 PDT: an hour left
        (datetime(2027, 3, 14, 4, 29, 59, tzinfo=LA), None),
        (datetime(2027, 3, 14, 4, 30, tzinfo=LA), "too_late"),
    ],
)
def test_the_start_window_across_the_spring_change(instructor, spring_session, at, code):
    with time_machine.travel(at, tick=False):
        if code is None:
            started = services.start_session(instructor, spring_session.pk)
            assert started.status == SessionStatus.LIVE
            assert started.started_at == at
        else:
            with pytest.raises(services.Conflict) as excinfo:
                services.start_session(instructor, spring_session.pk)
            assert excinfo.value.code == code


def test_the_host_window_opens_30_real_minutes_before_the_start(instructor, spring_session):
    opens = datetime(2027, 3, 14, 1, 0, tzinfo=LA)  # 09:00 UTC

    started = services.start_session(instructor, spring_session.pk, now=opens)

    assert started.started_at == datetime(2027, 3, 14, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "reason"),
    [
        (datetime(2027, 3, 14, 1, 19, 59, tzinfo=LA), "too_early"),
        (datetime(2027, 3, 14, 1, 20, tzinfo=LA), "ok"),
        (datetime(2027, 3, 14, 3, 0, tzinfo=LA), "ok"),  # the first minute of PDT
        (datetime(2027, 3, 14, 4, 29, 59, tzinfo=LA), "ok"),
        (datetime(2027, 3, 14, 4, 30, tzinfo=LA), "too_late"),
    ],
)
def test_a_members_join_window_across_the_spring_change(member, spring_session, at, reason):
    spring_session.refresh_from_db()

    with time_machine.travel(at, tick=False):
        decision = services.can_join(spring_session, member)

    assert decision.reason == reason
    assert decision.can_join is (reason == "ok")


def test_the_join_window_opens_10_real_minutes_before_the_start(member, spring_session):
    decision = services.can_join(
        spring_session, member, now=datetime(2027, 3, 14, 9, 0, tzinfo=UTC)
    )

    assert decision.reason == "too_early"
    assert decision.opens_at == datetime(2027, 3, 14, 9, 20, tzinfo=UTC)


def test_a_live_session_across_the_spring_change_ends_with_its_real_watch_time(
    instructor, member, spring_session
):
    services.start_session(instructor, spring_session.pk, now=SPRING_START)
    SessionAttendance.objects.create(
        session=spring_session, user=member, joined_at=SPRING_START, segment_started_at=SPRING_START
    )

    # 01:30 PST to 04:30 PDT on the wall clock: two hours in the room.
    ended = services.end_session(instructor, spring_session.pk, now=SPRING_END)

    row = ended.attendance.get(user=member)
    assert row.watch_time_seconds == 2 * 60 * 60


# Berlin, the last Sunday of March


@pytest.fixture
def berlin_instructor(db):
    return make_user("hans", Role.INSTRUCTOR, timezone="Europe/Berlin", first_name="Hans")


def test_a_berlin_session_across_the_spring_change_lasts_its_full_duration(berlin_instructor):
    session = create(berlin_instructor, datetime(2027, 3, 28, 1, 30, tzinfo=BERLIN))

    session.refresh_from_db()
    assert session.start_time == datetime(2027, 3, 28, 0, 30, tzinfo=UTC)
    assert session.end_time == datetime(2027, 3, 28, 2, 30, tzinfo=UTC)
    assert session.end_time.astimezone(BERLIN).strftime("%H:%M %Z") == "04:30 CEST"


def test_the_overlap_message_names_both_offsets_across_the_change(berlin_instructor):
    create(berlin_instructor, datetime(2027, 3, 28, 1, 30, tzinfo=BERLIN))

    with pytest.raises(services.Conflict) as excinfo:
        create(berlin_instructor, datetime(2027, 3, 28, 3, 30, tzinfo=BERLIN), minutes=30)

    assert "Sun 28 Mar 2027, 01:30 CET–04:30 CEST" in excinfo.value.message


def test_a_berlin_member_may_join_exactly_10_minutes_before_across_the_change(
    berlin_instructor, member
):
    # Starts 03:05 CEST, five minutes after the clocks jump: the window opens at 01:55 CET.
    session = create(berlin_instructor, datetime(2027, 3, 28, 3, 5, tzinfo=BERLIN), minutes=60)
    session.refresh_from_db()

    before = services.can_join(session, member, now=datetime(2027, 3, 28, 1, 54, 59, tzinfo=BERLIN))
    at = services.can_join(session, member, now=datetime(2027, 3, 28, 1, 55, tzinfo=BERLIN))

    assert before.reason == "too_early"
    assert at.reason == "ok"
    assert utc(before.opens_at) == datetime(2027, 3, 28, 0, 55, tzinfo=UTC)
