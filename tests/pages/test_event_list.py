"""``/events/``: current and coming events, then past ones."""

from __future__ import annotations

from datetime import timedelta

import pytest

from events_app.models import Event
from tests.conftest import NOW
from tests.pages.conftest import ROLES

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def make_event(title: str, *, is_public: bool = True, days_from_now: int = 0) -> Event:
    start = NOW + timedelta(days=days_from_now)
    return Event.objects.create(
        title=title, starts_at=start, ends_at=start + timedelta(days=2), is_public=is_public
    )


def test_an_anonymous_visitor_sees_public_events_with_their_public_sessions_counted(
    client, make_session
):
    camp = make_event("Summer camp")
    make_event("Board meeting", is_public=False)
    make_session(event=camp, is_public=True)
    make_session(event=camp, is_public=False, start_time=NOW + timedelta(hours=5))

    page = client.get("/events/").content.decode()

    assert "Summer camp" in page
    assert "Board meeting" not in page
    assert "1 session<" in page


def test_a_member_sees_every_event_and_every_session_counted(logged_in, make_session):
    camp = make_event("Summer camp")
    make_event("Board meeting", is_public=False)
    make_session(event=camp, is_public=True)
    make_session(event=camp, is_public=False, start_time=NOW + timedelta(hours=5))
    make_session(event=camp, archived_at=NOW, start_time=NOW + timedelta(hours=8))

    page = logged_in("member").get("/events/").content.decode()

    assert "Board meeting" in page
    assert "2 sessions<" in page  # the archived one is not counted


def test_past_events_are_listed_apart(client):
    make_event("Spring camp", days_from_now=-30)
    make_event("Autumn camp", days_from_now=30)

    page = client.get("/events/").content.decode()

    assert page.index("Autumn camp") < page.index("Past events") < page.index("Spring camp")


def test_event_titles_are_escaped(client):
    make_event("<b>Loud</b> camp")

    page = client.get("/events/").content.decode()

    assert "<b>Loud</b>" not in page
    assert "&lt;b&gt;Loud&lt;/b&gt; camp" in page


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("n", [1, 50])
def test_the_query_count_does_not_grow_with_the_events(
    logged_in, who, n, make_session, django_assert_max_num_queries
):
    for i in range(n):
        make_session(
            event=make_event(f"Camp {i}", days_from_now=i), start_time=NOW + timedelta(days=i)
        )
    browser = logged_in(who)

    # Session, user, current events, past events.
    with django_assert_max_num_queries(4):
        assert browser.get("/events/").status_code == 200
