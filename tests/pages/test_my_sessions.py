"""``/my/sessions/``: an instructor's sessions, with start and end buttons and attendance."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from sessions_app.models import SessionAttendance, SessionRegistration, SessionStatus
from tests.conftest import NOW, make_user
from wwmaa.models import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

URL = "/my/sessions/"


def panel_of(page: str, session) -> str:
    match = re.search(
        rf'<div class="manage-panel" id="manage-{session.pk}">.*?</details>', page, re.S
    )
    assert match, f"no panel for {session.title}"
    return match.group(0)


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    assert client.get(URL)["Location"] == f"/accounts/login/?next={URL}"


@pytest.mark.parametrize("who", ["public_user", "member"])
def test_it_is_for_instructors(logged_in, who):
    assert logged_in(who).get(URL).status_code == 403


def test_an_instructor_sees_their_own_sessions_only(logged_in, make_session, other_instructor):
    make_session(title="Mine")
    make_session(title="Hers", instructor=other_instructor)

    page = logged_in("instructor").get(URL).content.decode()

    assert "Mine" in page
    assert "Hers" not in page


def test_upcoming_and_past_are_apart(logged_in, make_session):
    make_session(title="Tomorrow", start_time=NOW + timedelta(days=1))
    make_session(title="Last week", start_time=NOW - timedelta(days=7), status=SessionStatus.ENDED)
    make_session(
        title="Called off", start_time=NOW + timedelta(days=2), status=SessionStatus.CANCELED
    )

    page = logged_in("instructor").get(URL).content.decode()

    assert page.index("Tomorrow") < page.index(">Past<") < page.index("Called off")
    assert page.index(">Past<") < page.index("Last week")


def test_a_session_shows_seats_registrations_and_attendance_with_watch_minutes(
    logged_in, make_session, member, other_member
):
    session = make_session(
        start_time=NOW - timedelta(minutes=30),
        status=SessionStatus.LIVE,
        started_at=NOW - timedelta(minutes=30),
        capacity=10,
    )
    SessionAttendance.objects.create(
        session=session,
        user=member,
        joined_at=NOW - timedelta(minutes=20),
        segment_started_at=NOW - timedelta(minutes=20),
    )
    SessionAttendance.objects.create(
        session=session,
        user=other_member,
        joined_at=NOW - timedelta(minutes=25),
        left_at=NOW - timedelta(minutes=10),
        watch_time_seconds=15 * 60,
    )
    SessionRegistration.objects.create(session=session, user=member)

    panel = panel_of(logged_in("instructor").get(URL).content.decode(), session)

    assert "<dt>Seats taken</dt><dd>2 of 10</dd>" in panel
    assert "<dt>Registered</dt><dd>1</dd>" in panel
    assert "<dt>In the room</dt><dd>1</dd>" in panel
    assert '<th scope="row">mia <span class="badge badge-live">in the room</span></th>' in panel
    assert '<td class="num">20.0</td>' in panel  # present: counted up to now
    assert '<td class="num">15.0</td>' in panel
    assert f'action="/my/sessions/{session.pk}/end/"' in panel
    assert f'href="/my/sessions/{session.pk}/attendance.csv"' in panel


def test_the_start_button_is_usable_from_thirty_minutes_before(logged_in, make_session):
    soon = make_session(title="Soon", start_time=NOW + timedelta(minutes=20))
    later = make_session(title="Later", start_time=NOW + timedelta(hours=3))

    page = logged_in("instructor").get(URL).content.decode()

    assert re.search(r"data-disable-at=\"\d+\">Start session", panel_of(page, soon))
    later_panel = panel_of(page, later)
    assert re.search(r"data-disable-at=\"\d+\" disabled aria-describedby", later_panel)
    assert "You can start it from" in later_panel
    enable_at = int((NOW + timedelta(hours=2, minutes=30)).timestamp() * 1000)
    assert f'data-enable-at="{enable_at}"' in later_panel


def test_user_text_is_escaped(logged_in, make_session):
    make_session(title="<script>alert(1)</script>")

    page = logged_in("instructor").get(URL).content.decode()

    assert "<script>alert(1)" not in page


@pytest.mark.parametrize("who", ["instructor", "board_member", "admin_user"])
@pytest.mark.parametrize("n", [1, 50])
def test_the_query_count_does_not_grow_with_the_sessions(
    request, logged_in, who, n, make_session, django_assert_max_num_queries
):
    teacher = request.getfixturevalue(who)
    people = [make_user(f"p{i}", Role.MEMBER) for i in range(3)]
    for i in range(n):
        session = make_session(
            instructor=teacher,
            start_time=NOW + timedelta(days=i - n // 2),
            status=SessionStatus.SCHEDULED if i >= n // 2 else SessionStatus.ENDED,
            capacity=20,
        )
        for person in people:
            SessionAttendance.objects.create(
                session=session, user=person, joined_at=NOW, watch_time_seconds=60
            )
        SessionRegistration.objects.create(session=session, user=people[0])
    browser = logged_in(who)

    # Session, user, upcoming, past, all their attendance.
    with django_assert_max_num_queries(5):
        assert browser.get(URL).status_code == 200
