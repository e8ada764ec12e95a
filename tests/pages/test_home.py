"""``/``: live and upcoming sessions the visitor may see, and the events coming up."""

from __future__ import annotations

from datetime import timedelta

import pytest

from events_app.models import Event
from sessions_app.models import SessionStatus
from tests.conftest import NOW
from tests.pages.conftest import ROLES

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


@pytest.fixture
def private_event(db):
    return Event.objects.create(
        title="Members' retreat",
        starts_at=NOW,
        ends_at=NOW + timedelta(days=3),
        timezone="Europe/Berlin",
        is_public=False,
    )


def test_an_anonymous_visitor_sees_public_sessions_and_events_only(
    client, event, private_event, make_session
):
    make_session(event=event, title="Open kata", is_public=True)
    make_session(event=event, title="Closed kumite", is_public=False)

    page = client.get("/").content.decode()

    assert "Open kata" in page
    assert "Closed kumite" not in page
    assert "Winter camp" in page
    assert "Members&#x27; retreat" not in page
    assert "Log in</a> to join this session." in page


@pytest.mark.parametrize("who", ["member", "instructor", "board_member", "admin_user"])
def test_members_and_above_see_every_session_and_event(
    logged_in, who, event, private_event, make_session
):
    make_session(event=event, title="Closed kumite", is_public=False)

    page = logged_in(who).get("/").content.decode()

    assert "Closed kumite" in page
    assert "Members&#x27; retreat" in page


def test_a_public_user_sees_public_sessions_only(logged_in, event, private_event, make_session):
    make_session(event=event, title="Open kata", is_public=True)
    make_session(event=event, title="Closed kumite", is_public=False)

    page = logged_in("public_user").get("/").content.decode()

    assert "Open kata" in page
    assert "Closed kumite" not in page
    assert "Members&#x27; retreat" not in page


def test_over_canceled_and_archived_sessions_are_not_listed(logged_in, make_session):
    make_session(title="Next week", start_time=NOW + timedelta(days=7))
    make_session(title="Finished", start_time=NOW - timedelta(hours=3), status=SessionStatus.ENDED)
    make_session(
        title="Called off", status=SessionStatus.CANCELED, start_time=NOW + timedelta(days=1)
    )
    make_session(title="Archived", start_time=NOW + timedelta(days=2), archived_at=NOW)

    page = logged_in("member").get("/").content.decode()

    assert "Next week" in page
    for gone in ("Finished", "Called off", "Archived"):
        assert gone not in page


def test_a_live_session_overrunning_its_time_is_still_listed(logged_in, make_session):
    make_session(
        title="Long sparring",
        start_time=NOW - timedelta(minutes=90),
        duration_minutes=60,
        status=SessionStatus.LIVE,
        started_at=NOW - timedelta(minutes=90),
    )

    page = logged_in("member").get("/").content.decode()

    assert "Long sparring" in page
    assert '<span class="badge badge-live" data-status-badge>Live</span>' in page


def test_the_page_carries_the_server_clock_for_its_script(client):
    response = client.get("/")

    page = response.content.decode()
    assert f'data-server-now="{int(NOW.timestamp() * 1000)}"' in page
    assert 'data-status-url="/sessions/status/"' in page
    assert "/static/js/sessions.js" in page
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("n", [1, 50])
def test_the_query_count_does_not_grow_with_the_sessions(
    logged_in, who, n, event, sessions_on, django_assert_max_num_queries
):
    sessions_on(event, n)
    browser = logged_in(who)

    # Session, user, the sessions with their counts, the events.
    with django_assert_max_num_queries(4):
        response = browser.get("/")
    assert response.status_code == 200
