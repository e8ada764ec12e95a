"""``/events/<id>/``: the event and every session on it the viewer may see, as cards."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from events_app.models import Event
from sessions_app.models import SessionAttendance, SessionRegistration, SessionStatus
from tests.conftest import NOW, make_user
from tests.pages.conftest import ROLES
from wwmaa.models import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def url(event) -> str:
    return f"/events/{event.pk}/"


def ms(instant) -> int:
    return int(instant.timestamp() * 1000)


def card_of(page: str, session) -> str:
    """The HTML of one session's card."""
    match = re.search(rf'<article[^>]*id="session-{session.pk}".*?</article>', page, re.S)
    assert match, f"no card for {session.title}"
    return match.group(0)


@pytest.fixture
def private_event(db):
    return Event.objects.create(
        title="Members' retreat", starts_at=NOW, ends_at=NOW + timedelta(days=3)
    )


def test_an_anonymous_visitor_sees_the_public_sessions_of_a_public_event(
    client, event, make_session
):
    make_session(event=event, title="Open kata", is_public=True)
    make_session(event=event, title="Closed kumite", is_public=False)

    page = client.get(url(event)).content.decode()

    assert "<h1>Winter camp</h1>" in page
    assert "Open kata" in page
    assert "Closed kumite" not in page


@pytest.mark.parametrize("who", ["anonymous", "public_user"])
def test_a_non_public_event_is_not_found_for_those_who_may_not_see_it(
    logged_in, who, private_event
):
    assert logged_in(who).get(url(private_event)).status_code == 404


@pytest.mark.parametrize("who", ["member", "instructor", "board_member", "admin_user"])
def test_members_and_above_see_a_non_public_event_and_all_its_sessions(
    logged_in, who, private_event, make_session
):
    make_session(event=private_event, title="Closed kumite", is_public=False)

    page = logged_in(who).get(url(private_event)).content.decode()

    assert "Closed kumite" in page


def test_an_unknown_event_is_not_found(client):
    assert client.get("/events/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_a_card_shows_everything_about_the_session(logged_in, event, make_session, instructor):
    session = make_session(
        event=event,
        title="Kata fundamentals",
        start_time=NOW + timedelta(hours=2),
        duration_minutes=45,
        capacity=12,
        recording_enabled=True,
        members_only=True,
    )
    SessionAttendance.objects.create(
        session=session, user=make_user("seated", Role.MEMBER), joined_at=NOW
    )

    card = card_of(logged_in("member").get(url(event)).content.decode(), session)

    assert "Kata fundamentals" in card
    assert "with <strong>Kenji Sato</strong>" in card
    # The event is in Los Angeles, the member in Berlin: both, each marking the UTC instant.
    assert (
        '<time datetime="2026-06-01T18:00:00+00:00" title="America/Los_Angeles">'
        "Mon 1 Jun 2026, 11:00 PDT</time>" in card
    )
    assert (
        '<time datetime="2026-06-01T18:00:00+00:00" title="Europe/Berlin">'
        "Mon 1 Jun, 20:00 CEST</time> your time" in card
    )
    assert "45 min" in card
    assert '<span class="badge badge-scheduled" data-status-badge>Scheduled</span>' in card
    assert "11 of 12 seats left" in card
    assert "Members only" in card
    assert "Recorded" in card
    assert "Starts in 2\xa0hours" in card
    assert f'href="/sessions/{session.pk}/calendar.ics"' in card
    assert f'action="/sessions/{session.pk}/rsvp/"' in card


def test_the_viewer_zone_is_left_out_when_it_reads_the_same(logged_in, event, make_session):
    session = make_session(event=event)

    card = card_of(logged_in("other_member").get(url(event)).content.decode(), session)

    assert "your time" not in card


def test_before_the_window_the_join_button_waits_hidden_with_its_opening_time(
    logged_in, event, make_session
):
    session = make_session(event=event, start_time=NOW + timedelta(minutes=25))

    card = card_of(logged_in("member").get(url(event)).content.decode(), session)

    assert f'data-opens-at="{ms(NOW + timedelta(minutes=15))}"' in card
    assert re.search(r"<form[^>]*data-join-form hidden>", card)
    assert "Joining opens 10 minutes before the start." in card


def test_once_the_window_is_open_the_page_has_a_join_button_without_javascript(
    logged_in, event, make_session
):
    session = make_session(event=event, start_time=NOW + timedelta(minutes=8))

    card = card_of(logged_in("member").get(url(event)).content.decode(), session)

    assert re.search(
        rf'<form method="post" action="/sessions/{session.pk}/join/" class="join-form" '
        r"data-join-form>",
        card,
    )
    assert 'name="csrfmiddlewaretoken"' in card
    assert f'name="next" value="{url(event)}"' in card
    assert ">Join the room</button>" in card


def test_the_instructor_may_join_from_thirty_minutes_before(logged_in, event, make_session):
    session = make_session(event=event, start_time=NOW + timedelta(minutes=25))

    card = card_of(logged_in("instructor").get(url(event)).content.decode(), session)

    assert f'data-opens-at="{ms(NOW - timedelta(minutes=5))}"' in card
    assert re.search(r"data-join-form>", card)
    assert "RSVP" not in card  # nobody registers for their own class


def test_a_full_session_says_so_instead_of_a_join_button(logged_in, event, make_session):
    session = make_session(event=event, start_time=NOW + timedelta(minutes=5), capacity=1)
    SessionAttendance.objects.create(
        session=session, user=make_user("first", Role.MEMBER), joined_at=NOW
    )

    card = card_of(logged_in("member").get(url(event)).content.decode(), session)

    assert "Full (1 seats)" in card
    assert "This session is full." in card
    assert re.search(r"data-join-form hidden>", card)


def test_a_public_user_is_told_a_members_only_session_is_for_members(
    logged_in, event, make_session
):
    session = make_session(event=event, is_public=True, members_only=True)

    card = card_of(logged_in("public_user").get(url(event)).content.decode(), session)

    assert "This session is for members only." in card
    assert "RSVP" not in card


def test_an_anonymous_visitor_is_asked_to_log_in_and_gets_no_join_form(client, event, make_session):
    session = make_session(event=event, is_public=True, start_time=NOW + timedelta(minutes=5))

    card = card_of(client.get(url(event)).content.decode(), session)

    assert f'href="/accounts/login/?next={url(event)}">Log in</a>' in card
    assert "data-join-form" not in card
    assert "RSVP" not in card


def test_canceled_and_past_sessions_are_shown_for_what_they_are(logged_in, event, make_session):
    canceled = make_session(
        event=event, title="Called off", status=SessionStatus.CANCELED, canceled_at=NOW
    )
    over = make_session(
        event=event,
        title="Yesterday",
        start_time=NOW - timedelta(days=1),
        status=SessionStatus.ENDED,
    )

    page = logged_in("member").get(url(event)).content.decode()

    assert '<span class="badge badge-canceled" data-status-badge>Canceled</span>' in card_of(
        page, canceled
    )
    assert "This session was canceled." in card_of(page, canceled)
    assert "Add to calendar" not in card_of(page, canceled)
    assert page.index("Called off") < page.index("Past sessions") < page.index("Yesterday")
    assert "This session has ended." in card_of(page, over)


def test_a_registered_member_can_withdraw(logged_in, event, make_session, member):
    session = make_session(event=event)
    SessionRegistration.objects.create(session=session, user=member)

    card = card_of(logged_in("member").get(url(event)).content.decode(), session)

    assert "You're registered" in card
    assert f'action="/sessions/{session.pk}/rsvp/withdraw/"' in card


def test_user_text_is_escaped(logged_in, make_session):
    event = Event.objects.create(
        title="<i>Camp</i>",
        description="<img src=x onerror=alert(1)>",
        starts_at=NOW,
        ends_at=NOW + timedelta(days=1),
        is_public=True,
    )
    make_session(event=event, title="<script>alert(1)</script>", is_public=True)

    page = logged_in("member").get(url(event)).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert "<i>Camp</i>" not in page


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("n", [1, 50])
def test_the_query_count_does_not_grow_with_the_sessions(
    logged_in, who, n, event, sessions_on, django_assert_max_num_queries
):
    sessions_on(event, n)
    browser = logged_in(who)

    # Session, user, the event, its sessions with their counts.
    with django_assert_max_num_queries(4):
        response = browser.get(url(event))
    assert response.status_code == 200
    assert response.content.decode().count("data-session-card ") == n


@pytest.mark.parametrize("who", ROLES)
def test_the_page_reads_the_sessions_the_orm_would(
    request, who, event, make_session, member, instructor, django_assert_num_queries
):
    """``event_page_sessions`` (SQL compiled once, rows of values) against the same read
    through the ORM: the same sessions, order, values, counts and the caller's own seat
    and registration."""
    from sessions_app.api.queries import annotate_sessions
    from sessions_app.cards import CardSession, event_page_sessions
    from sessions_app.models import TrainingSession

    user = None if who == "anonymous" else request.getfixturevalue(who)
    other = make_user("other-event-member", Role.MEMBER)
    elsewhere = Event.objects.create(title="Elsewhere", starts_at=NOW, ends_at=NOW)
    full = make_session(
        event=event,
        title="Full",
        capacity=1,
        is_public=True,
        start_time=NOW + timedelta(minutes=30),
    )
    held = make_session(event=event, title="Held", capacity=3, start_time=NOW + timedelta(hours=1))
    make_session(event=event, title="Archived", archived_at=NOW, is_public=True)
    make_session(event=elsewhere, title="Other event", is_public=True)
    make_session(event=event, title="B same time", start_time=NOW + timedelta(hours=2))
    make_session(
        event=event, title="A same time", start_time=NOW + timedelta(hours=2), is_public=True
    )
    SessionAttendance.objects.create(session=full, user=other, joined_at=NOW)
    SessionAttendance.objects.create(session=held, user=member, joined_at=NOW)
    SessionAttendance.objects.create(session=held, user=instructor, joined_at=NOW)  # no seat
    SessionRegistration.objects.create(session=full, user=member)

    with django_assert_num_queries(1):
        read = event_page_sessions(user, event, limit=4)
    expected = list(
        annotate_sessions(TrainingSession.objects.visible_to(user).filter(event=event), user)
        .not_archived()
        .order_by("start_time", "title")[:4]
    )

    assert [s.title for s in read] == [s.title for s in expected]
    for got, want in zip(read, expected, strict=True):
        assert got.event is event and got.event_id == want.event_id
        assert got.instructor.display_name == want.instructor.display_name
        assert got.get_status_display() == want.get_status_display()
        assert got.join_window_opens_at == want.join_window_opens_at
        for name in CardSession.COLUMNS:
            if not name.startswith("instructor__"):
                attribute = "pk" if name == "id" else name
                assert getattr(got, attribute) == getattr(want, attribute), name
    if who == "member":
        assert [(s.title, s.caller_holds_seat, s.caller_registered) for s in read] == [
            ("Full", False, True),
            ("Held", True, False),
            ("A same time", False, False),
            ("B same time", False, False),
        ]
        assert [s.seats_taken for s in read[:2]] == [1, 1]


@pytest.mark.parametrize("who", ROLES)
def test_one_event_s_visibility_is_the_querysets(request, who, event, private_event):
    user = None if who == "anonymous" else request.getfixturevalue(who)
    for shown in (event, private_event):
        visible = Event.objects.visible_to(user).filter(pk=shown.pk).exists()
        assert shown.is_visible_to(user) is visible, shown.title
