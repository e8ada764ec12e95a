"""``/sessions/<id>/``: one session, the same card as on its event page, and its description."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessions_app.models import SessionAttendance
from tests.conftest import NOW, make_user
from tests.pages.conftest import ROLES
from wwmaa.models import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def url(session) -> str:
    return f"/sessions/{session.pk}/"


def test_a_public_session_is_shown_to_everyone(client, event, make_session):
    session = make_session(event=event, is_public=True, description="Bring a bo.\n\nAll levels.")

    page = client.get(url(session)).content.decode()

    assert '<h1 class="card-title"' in page
    assert "Kata fundamentals</h1>" in page
    assert "<p>Bring a bo.</p>\n\n<p>All levels.</p>" in page
    assert f'href="/events/{event.pk}/">Winter camp</a>' in page  # the breadcrumbs


@pytest.mark.parametrize("who", ["anonymous", "public_user"])
def test_a_non_public_session_is_not_found_for_those_who_may_not_see_it(
    logged_in, who, make_session
):
    session = make_session(is_public=False)

    assert logged_in(who).get(url(session)).status_code == 404


@pytest.mark.parametrize("who", ["member", "instructor", "board_member", "admin_user"])
def test_members_and_above_see_a_non_public_session(logged_in, who, make_session):
    session = make_session(is_public=False)

    assert logged_in(who).get(url(session)).status_code == 200


def test_an_unknown_session_is_not_found(client):
    assert client.get("/sessions/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_an_archived_session_keeps_its_page(logged_in, make_session):
    session = make_session(archived_at=NOW)

    assert logged_in("member").get(url(session)).status_code == 200


def test_the_instructor_finds_the_way_to_run_it(logged_in, make_session):
    session = make_session()

    page = logged_in("instructor").get(url(session)).content.decode()

    assert f'href="/my/sessions/#manage-{session.pk}"' in page


def test_a_member_does_not_get_the_instructors_link(logged_in, make_session):
    session = make_session()

    page = logged_in("member").get(url(session)).content.decode()

    assert "/my/sessions/" not in page
    assert f'action="/sessions/{session.pk}/rsvp/"' in page


def test_a_member_who_holds_a_seat_goes_back_to_the_room(logged_in, make_session, member):
    session = make_session(start_time=NOW + timedelta(minutes=5))
    SessionAttendance.objects.create(session=session, user=member, joined_at=NOW)

    page = logged_in("member").get(url(session)).content.decode()

    assert ">Back to the room</button>" in page


def test_user_text_is_escaped(logged_in, make_session):
    session = make_session(
        title="<script>alert(1)</script>", description="<img src=x onerror=alert(2)>"
    )

    page = logged_in("member").get(url(session)).content.decode()

    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("n", [1, 50])
def test_the_query_count_does_not_grow_with_the_attendance(
    logged_in, who, n, make_session, django_assert_max_num_queries
):
    session = make_session(is_public=True, capacity=100)
    for i in range(n):
        SessionAttendance.objects.create(
            session=session, user=make_user(f"m{i}", Role.MEMBER), joined_at=NOW
        )
    browser = logged_in(who)

    # Session, user, the session with its counts.
    with django_assert_max_num_queries(3):
        assert browser.get(url(session)).status_code == 200
