"""The room page in a real browser: presence heartbeats and the goodbye beacon."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sessions_app.models import RoomStatus, SessionAttendance, SessionStatus
from tests.browser.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live(make_session):
    now = timezone.now()
    return make_session(
        start_time=now - timedelta(minutes=15),
        status=SessionStatus.LIVE,
        started_at=now - timedelta(minutes=15),
        room_status=RoomStatus.READY,
    )


@pytest.fixture
def seated(live, member):
    """The member came in ten minutes ago; their page's last heartbeat was a minute ago."""
    now = timezone.now()
    return SessionAttendance.objects.create(
        session=live,
        user=member,
        joined_at=now - timedelta(minutes=10),
        segment_started_at=now - timedelta(minutes=10),
        last_seen_at=now - timedelta(minutes=1),
    )


def present(attendance) -> bool:
    return SessionAttendance.objects.get(pk=attendance.pk).is_present


def is_heartbeat(response) -> bool:
    return response.url.endswith("/presence/") and response.request.method == "POST"


def is_goodbye(request) -> bool:
    return request.url.endswith("/presence/leave/")


def test_the_room_pages_heartbeat_adds_watch_time_and_its_goodbye_closes_it(
    page, login, live, seated, member, screenshot
):
    page.clock.install()  # the real time, but the heartbeat timer is the test's to run
    login(member)
    with page.expect_response(is_heartbeat) as first:
        page.goto(f"/sessions/{live.pk}/room/")  # a heartbeat at once
    assert first.value.json()["present"] is True
    expect(page.locator("[data-people] li")).to_have_text(["mia (you)"])
    screenshot(page, "room-page")
    seen = SessionAttendance.objects.get(pk=seated.pk).last_seen_at
    assert seen > timezone.now() - timedelta(seconds=10)

    with page.expect_response(is_heartbeat):
        page.clock.fast_forward(30_000)  # the next heartbeat, 30 seconds on
    assert SessionAttendance.objects.get(pk=seated.pk).last_seen_at > seen

    # Leaving the page sends the goodbye beacon, which closes the segment.
    page.goto(f"/sessions/{live.pk}/")
    wait_until(lambda: not present(seated), what="the beacon closed the segment")
    row = SessionAttendance.objects.get(pk=seated.pk)
    assert row.segment_started_at is None
    assert 10 * 60 <= row.watch_time_seconds <= 10 * 60 + 30


def test_two_tabs_count_once_and_closing_one_keeps_the_user_in(
    context, login, live, seated, member
):
    login(member)
    first, second = context.new_page(), context.new_page()
    second.clock.install()
    for tab in (first, second):
        with tab.expect_response(is_heartbeat):
            tab.goto(f"/sessions/{live.pk}/room/")

    first.goto(f"/sessions/{live.pk}/")  # one tab leaves; the other is still in the room
    with second.expect_response(is_heartbeat) as answer:
        second.clock.fast_forward(30_000)  # ... as its next heartbeat finds

    assert answer.value.json()["present"] is True
    assert present(seated)
    assert SessionAttendance.objects.filter(session=live).count() == 1

    second.goto(f"/sessions/{live.pk}/")  # the last tab leaves
    wait_until(lambda: not present(seated), what="the last tab's beacon closed the segment")


def test_the_leave_button_leaves_once(page, login, live, seated, member):
    login(member)
    page.goto(f"/sessions/{live.pk}/room/")
    goodbyes = []
    page.context.on("request", lambda r: goodbyes.append(r) if is_goodbye(r) else None)

    page.get_by_role("button", name="Leave the room").click()

    expect(page).to_have_url(re.compile(rf"/sessions/{live.pk}/$"))
    expect(page.locator(".messages")).to_have_text(
        "You left the room. Your seat is kept if you come back."
    )
    assert goodbyes == []  # the form left; no beacon on top of it
    assert not SessionAttendance.objects.get(pk=seated.pk).is_present


def test_a_tab_left_behind_after_leaving_elsewhere_offers_to_join_again(
    context, login, live, seated, member
):
    login(member)
    page = context.new_page()
    page.clock.install()
    # The page counts as "was present" only once its first heartbeat has answered: leave
    # in the database after that, or the page never knew it was in.
    with page.expect_response(is_heartbeat):
        page.goto(f"/sessions/{live.pk}/room/")
    expect(page.locator("[data-away-notice]")).to_be_hidden()

    SessionAttendance.objects.filter(pk=seated.pk).update(segment_started_at=None)  # left
    with page.expect_response(is_heartbeat):
        page.clock.fast_forward(30_000)

    expect(page.locator("[data-away-notice]")).to_be_visible()
    expect(page.locator("[data-rejoin-form] button")).to_be_visible()
    expect(page.locator("[data-leave-form]")).to_be_hidden()


def test_reloading_the_room_keeps_the_user_in(page, login, live, seated, member):
    login(member)
    page.goto(f"/sessions/{live.pk}/room/")

    page.reload()

    expect(page.get_by_role("button", name="Leave the room")).to_be_visible()
    expect(page.locator("[data-away-notice]")).to_be_hidden()
    wait_until(lambda: present(seated), what="the reloaded page is back in the room")
