"""The four pages with session cards (home, event, session, "my sessions") render exactly
the HTML recorded in ``tests/pages/snapshots/``: same markup, same escaping, same
whitespace, card by card.

The cards are drawn for speed (``sessions_app/cards.py``); this is what proves a faster
card is still the same card. The arrangement covers every branch a card has: each
status, full and open seating, a seat held, a registration, the join window open and
not yet, a failed room, zones that differ, titles and names that need escaping, and a
page address whose query needs it too. The clock is frozen; what still changes from run
to run (ids and CSRF tokens) is masked.

After a deliberate change of the markup, record the pages again with
``UPDATE_PAGE_SNAPSHOTS=1 python -m pytest tests/pages/test_card_pages_markup.py`` and
review the difference.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client

from sessions_app.models import RoomStatus, SessionAttendance, SessionRegistration, SessionStatus
from tests.conftest import NOW, make_user
from wwmaa.models import Role, User

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE = os.environ.get("UPDATE_PAGE_SNAPSHOTS") == "1"

# Text that every escaping rule applies to: quotes of both kinds, <, > and &.
TRICKY = """Kata & "kumite" <basics> for O'Brien's group"""
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CSRF = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+(")')


def masked(page: str) -> str:
    """The page's ``<main>`` with ids numbered in order of appearance and CSRF tokens
    blanked (both are random); the rest of the layout is not the cards' business."""
    main = page[page.index("<main") : page.index("</main>") + len("</main>")]
    numbers: dict[str, int] = {}
    main = UUID.sub(lambda m: f"id-{numbers.setdefault(m.group(0), len(numbers) + 1)}", main)
    return CSRF.sub(r"\1[csrf]\2", main)


@pytest.fixture
def arranged(event, make_session, instructor, other_instructor, member, other_member):
    """Sessions in every state a card can show, on ``event`` (America/Los_Angeles) and
    one without an event."""
    other_instructor.first_name = TRICKY
    other_instructor.save()
    seated = [make_user(f"seated{i}", Role.MEMBER) for i in range(2)]

    def seat(session, *people):
        for i, person in enumerate(people):
            SessionAttendance.objects.create(
                session=session, user=person, joined_at=NOW - timedelta(minutes=30 - i)
            )

    soon = make_session(
        event=event, title=TRICKY, instructor=other_instructor, capacity=10,
        recording_enabled=True, is_public=True, members_only=False,
        start_time=NOW + timedelta(hours=2),
    )  # fmt: skip
    seat(soon, *seated)
    SessionRegistration.objects.create(session=soon, user=member)
    full = make_session(
        event=event, title="Full sparring", capacity=2, is_public=True,
        start_time=NOW + timedelta(minutes=5),
    )  # fmt: skip
    seat(full, *seated)
    live = make_session(
        event=event, title="Live kumite", capacity=3, is_public=True, members_only=False,
        start_time=NOW - timedelta(minutes=20), status=SessionStatus.LIVE,
        started_at=NOW - timedelta(minutes=19), room_status=RoomStatus.READY,
    )  # fmt: skip
    seat(live, member, other_member)
    make_session(
        event=event, title="Live without a start", is_public=False,
        start_time=NOW - timedelta(minutes=5), status=SessionStatus.LIVE,
    )  # fmt: skip
    make_session(
        event=event, title="Overdue", is_public=True, instructor=other_instructor,
        start_time=NOW - timedelta(minutes=3),
    )  # fmt: skip
    make_session(
        event=event, title="Room failed", is_public=True, members_only=False,
        start_time=NOW + timedelta(minutes=2), room_status=RoomStatus.FAILED,
    )  # fmt: skip
    make_session(
        event=event, title="Canceled class", is_public=True,
        start_time=NOW + timedelta(days=1), status=SessionStatus.CANCELED,
        canceled_at=NOW - timedelta(days=1),
    )  # fmt: skip
    ended = make_session(
        event=event, title="Yesterday's class", is_public=True, capacity=5,
        start_time=NOW - timedelta(days=1), status=SessionStatus.ENDED,
        started_at=NOW - timedelta(days=1), ended_at=NOW - timedelta(days=1, minutes=-60),
    )  # fmt: skip
    seat(ended, member)
    SessionRegistration.objects.create(session=ended, user=member)
    make_session(
        event=event, title="Scheduled, never started", is_public=True,
        start_time=NOW - timedelta(days=2),
    )  # fmt: skip
    make_session(
        event=event, title="Autumn class", is_public=True,
        start_time=NOW + timedelta(days=150, hours=5, minutes=30),
    )  # fmt: skip
    make_session(title="No event", is_public=True, start_time=NOW + timedelta(hours=5))
    return {"soon": soon, "live": live, "ended": ended}


def render(who: str, address: str, event, arranged) -> str:
    """The masked page at ``address`` as ``who`` (a username, or "anonymous") sees it."""
    client = Client()
    if who != "anonymous":
        client.force_login(User.objects.get(username=who))
    address = address.format(event=event.pk, **{k: s.pk for k, s in arranged.items()})
    response = client.get(address)
    assert response.status_code == 200
    return masked(response.content.decode())


PAGES = [
    # (name of the snapshot, who looks, address)
    ("event_anonymous", "anonymous", "/events/{event}/"),
    ("event_member", "mia", "/events/{event}/?from=home&q=%22%3E%3Cb%3E%27"),
    ("event_instructor", "kenji", "/events/{event}/"),
    ("home_anonymous", "anonymous", "/"),
    ("home_member", "mia", "/"),
    ("session_member_live", "mia", "/sessions/{live}/"),
    ("session_member_soon", "mia", "/sessions/{soon}/?x=<y>"),
    ("session_anonymous", "anonymous", "/sessions/{soon}/?a=1&b=<c>"),
    ("my_sessions_instructor", "kenji", "/my/sessions/"),
]


@pytest.mark.parametrize(("name", "who", "address"), PAGES)
def test_the_page_renders_the_recorded_cards(arranged, event, name, who, address):
    page = render(who, address, event, arranged)

    snapshot = SNAPSHOTS / f"{name}.html"
    if UPDATE:
        SNAPSHOTS.mkdir(exist_ok=True)
        snapshot.write_text(page, encoding="utf-8")
    assert page == snapshot.read_text(encoding="utf-8")


def test_the_arrangement_reaches_every_branch_of_the_card(arranged, event):
    """The comparison is only as good as what the pages show: each branch is in them."""
    pages = "".join(render(who, address, event, arranged) for _name, who, address in PAGES)

    for shown in [
        'class="card session-card status-scheduled"',
        'class="card session-card status-live"',
        'class="card session-card status-ended"',
        'class="card session-card status-canceled"',
        "Open seating",
        "Full (2 seats)",
        "8 of 10 seats left",
        "Back to the room",
        "Join now",
        "Join the room",
        "Withdraw RSVP",
        "RSVP: I'll be there",
        "You're registered",
        "Live now · started 19\xa0minutes ago",
        "Waiting for the instructor to start",
        "Starts in 2\xa0hours",
        'data-reason="room_not_ready"',
        'data-reason="full"',
        'data-reason="too_early"',
        'data-reason="ok"',
        "your time</span>",
        "Log in</a> to join this session.",
        '<h1 class="card-title"',
        "Kata &amp; &quot;kumite&quot; &lt;basics&gt; for O&#x27;Brien&#x27;s group",
        "%22%3E%3Cb%3E%27",
        "?next=/sessions/id-2/%3Fa%3D1%26b%3D%253Cc%253E",
        "Add to calendar",
    ]:
        assert shown in pages, shown
