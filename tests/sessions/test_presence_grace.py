"""Watch time when the room page's heartbeats stop (``PRESENCE_GRACE``).

A segment whose page sent heartbeats and then fell silent counts up to the last heartbeat
plus the grace, whoever closes it: a later heartbeat, a leave or the end of the session.
A segment that never had a heartbeat (API clients, provider webhooks) counts up to its
leave, as before.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessions_app.models import PRESENCE_GRACE, RoomStatus, SessionAttendance, SessionStatus
from sessions_app.services import end_session, join_session, leave_session, record_presence
from tests.conftest import NOW

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


@pytest.fixture
def live(make_session):
    return make_session(
        start_time=NOW - 5 * MINUTE,
        status=SessionStatus.LIVE,
        started_at=NOW - 5 * MINUTE,
        room_status=RoomStatus.READY,
    )


def row_of(session, user) -> SessionAttendance:
    return SessionAttendance.objects.get(session=session, user=user)


def test_the_grace_is_five_minutes():
    assert PRESENCE_GRACE == 5 * MINUTE


def test_regular_heartbeats_keep_the_whole_segment_counting(live, member):
    join_session(member, live.pk, now=NOW)
    for minute in range(1, 21):
        record_presence(member, live.pk, now=NOW + minute * MINUTE)

    leave_session(member, live.pk, now=NOW + 20 * MINUTE)

    assert row_of(live, member).watch_time_seconds == 20 * 60


def test_a_heartbeat_after_a_long_silence_does_not_count_the_silence(live, member):
    join_session(member, live.pk, now=NOW)
    record_presence(member, live.pk, now=NOW + 2 * MINUTE)

    # The laptop slept from minute 2 to minute 30.
    assert record_presence(member, live.pk, now=NOW + 30 * MINUTE) is True

    row = row_of(live, member)
    assert row.watch_time_seconds == 7 * 60  # up to the last heartbeat plus the grace
    assert row.last_seen_at == NOW + 30 * MINUTE
    assert row.segment_started_at == NOW + 30 * MINUTE - timedelta(seconds=1)
    leave_session(member, live.pk, now=NOW + 33 * MINUTE)
    assert row_of(live, member).watch_time_seconds == 7 * 60 + 3 * 60 + 1


def test_a_tab_that_goes_silent_again_after_coming_back_is_capped_too(live, member, instructor):
    join_session(member, live.pk, now=NOW)
    record_presence(member, live.pk, now=NOW + 20 * MINUTE)  # back after a silence
    # ... and then it crashed.

    end_session(instructor, live.pk, now=NOW + 50 * MINUTE)

    assert row_of(live, member).watch_time_seconds == 5 * 60 + 5 * 60 + 1


def test_a_heartbeat_within_the_grace_counts_straight_through(live, member):
    join_session(member, live.pk, now=NOW)
    record_presence(member, live.pk, now=NOW + 1 * MINUTE)

    record_presence(member, live.pk, now=NOW + 5 * MINUTE)

    row = row_of(live, member)
    assert (row.segment_started_at, row.watch_time_seconds) == (NOW, 0)


def test_a_leave_long_after_the_last_heartbeat_counts_up_to_it_plus_the_grace(live, member):
    join_session(member, live.pk, now=NOW)
    record_presence(member, live.pk, now=NOW + 3 * MINUTE)

    leave_session(member, live.pk, now=NOW + 45 * MINUTE)

    row = row_of(live, member)
    assert row.watch_time_seconds == 8 * 60
    assert row.left_at == NOW + 8 * MINUTE


def test_the_end_closes_a_silent_segment_at_its_last_heartbeat_plus_the_grace(
    live, member, instructor
):
    join_session(member, live.pk, now=NOW)
    for minute in (4, 8, 10):
        record_presence(member, live.pk, now=NOW + minute * MINUTE)
    # Then the tab crashed.

    end_session(instructor, live.pk, now=NOW + 50 * MINUTE)

    row = row_of(live, member)
    assert row.watch_time_seconds == 15 * 60
    assert row.left_at == NOW + 15 * MINUTE


def test_a_segment_without_heartbeats_counts_up_to_its_leave(live, member):
    # An API client: it joins and leaves, and never sends a heartbeat.
    join_session(member, live.pk, now=NOW)

    leave_session(member, live.pk, now=NOW + 40 * MINUTE)

    assert row_of(live, member).watch_time_seconds == 40 * 60


def test_two_tabs_heartbeating_count_once(live, member):
    join_session(member, live.pk, now=NOW)
    join_session(member, live.pk, now=NOW + MINUTE)  # the second tab
    for second in range(30, 10 * 60 + 1, 15):  # both tabs, interleaved
        record_presence(member, live.pk, now=NOW + timedelta(seconds=second))

    leave_session(member, live.pk, now=NOW + 10 * MINUTE)

    assert SessionAttendance.objects.filter(session=live).count() == 1
    assert row_of(live, member).watch_time_seconds == 10 * 60


def test_watch_time_so_far_stops_growing_when_the_heartbeats_stop(live, member):
    join_session(member, live.pk, now=NOW)
    record_presence(member, live.pk, now=NOW + MINUTE)

    row = row_of(live, member)

    assert row.watch_seconds_at(NOW + 4 * MINUTE) == 4 * 60
    assert row.watch_seconds_at(NOW + 60 * MINUTE) == 6 * 60
