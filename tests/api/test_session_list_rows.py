"""The session lists write each row themselves (``sessions_app.api.listing``); these tests
hold every row to the bytes ``SessionSerializer`` answers for the same session and caller
(the detail endpoint), so the two cannot drift apart.

The sessions cover every status, null and non-null optional fields, microseconds and
none, each ``can_join`` reason, and the windows that differ between a member and a host.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from rest_framework.renderers import JSONRenderer

from sessions_app.api import listing
from sessions_app.api.filters import SessionFilter
from sessions_app.api.queries import sessions_for
from sessions_app.api.serializers import SessionSerializer, UTCDateTimeField
from sessions_app.models import (
    EndReason,
    RoomStatus,
    SessionAttendance,
    SessionRegistration,
    SessionStatus,
    TrainingSession,
)
from tests.api.conftest import ROLES, SESSIONS, client_for, url
from tests.conftest import NOW, make_user
from wwmaa.models import Role
from wwmaa.rows import _compiled_query

MINUTE = timedelta(minutes=1)
MICROS = timedelta(microseconds=123456)


@pytest.fixture
def variety(make_session, event, cast, other_member, other_instructor):
    """Sessions whose rows differ in every way the answer can."""
    member, owner = cast["member"], cast["owner"]
    unnamed = make_user("sensei", Role.INSTRUCTOR)
    first_only = make_user("yuki", Role.INSTRUCTOR, first_name="Yuki")
    sessions = {
        "later": make_session(
            title="Later", start_time=NOW + 120 * MINUTE, event=event, is_public=True
        ),
        "full": make_session(
            title="Full",
            start_time=NOW + 5 * MINUTE + MICROS,
            capacity=1,
            room_status=RoomStatus.READY,
            is_public=True,
            members_only=False,
            tags=["kata", "beginners"],
        ),
        "seat_held": make_session(title="Seat held", start_time=NOW + 5 * MINUTE, capacity=1),
        "host_window": make_session(
            title="Host window", start_time=NOW + 20 * MINUTE, capacity=10, is_public=True
        ),
        "too_late": make_session(
            title="Too late", start_time=NOW - 180 * MINUTE, capacity=10, description=""
        ),
        "live_failed_room": make_session(
            title="Live, failed room",
            instructor=other_instructor,
            start_time=NOW - 10 * MINUTE,
            status=SessionStatus.LIVE,
            started_at=NOW - 9 * MINUTE + MICROS,
            room_status=RoomStatus.FAILED,
            chat_enabled=False,
            recording_enabled=True,
        ),
        "live_deleted_room": make_session(
            title="Live, deleted room",
            instructor=unnamed,
            start_time=NOW - 20 * MINUTE,
            status=SessionStatus.LIVE,
            started_at=NOW - 20 * MINUTE,
            room_status=RoomStatus.DELETED,
            is_public=True,
        ),
        "ended": make_session(
            title="Ended and archived",
            instructor=first_only,
            event=event,
            start_time=NOW - 3 * 24 * 60 * MINUTE,
            status=SessionStatus.ENDED,
            started_at=NOW - 3 * 24 * 60 * MINUTE,
            ended_at=NOW - 3 * 24 * 60 * MINUTE + 50 * MINUTE + MICROS,
            end_reason=EndReason.INSTRUCTOR,
            archived_at=NOW - MINUTE,
            recording_status="ready",
            is_public=True,
        ),
        "canceled": make_session(
            title="Canceled",
            start_time=NOW + 60 * MINUTE,
            status=SessionStatus.CANCELED,
            canceled_at=NOW - 60 * MINUTE,
            is_public=True,
            tags=[1, None, "kihon", 2.5],  # stored before validation existed, say
        ),
        "not_started": make_session(
            title="Never started",
            start_time=NOW - 2 * 24 * 60 * MINUTE,
            status=SessionStatus.ENDED,
            ended_at=NOW - 2 * 24 * 60 * MINUTE + 90 * MINUTE,
            end_reason=EndReason.NOT_STARTED,
            members_only=False,
        ),
    }
    SessionAttendance.objects.create(session=sessions["full"], user=other_member, joined_at=NOW)
    SessionAttendance.objects.create(session=sessions["seat_held"], user=member, joined_at=NOW)
    # The instructor's own attendance takes no seat.
    SessionAttendance.objects.create(session=sessions["host_window"], user=owner, joined_at=NOW)
    SessionRegistration.objects.create(session=sessions["later"], user=member)
    SessionRegistration.objects.create(session=sessions["full"], user=member)
    # Written times with microseconds too, not only the clock's whole seconds.
    TrainingSession.objects.filter(pk=sessions["later"].pk).update(
        created_at=NOW - 7 * 24 * 60 * MINUTE + MICROS, updated_at=NOW - MINUTE + MICROS
    )
    return sessions


def rendered(data) -> bytes:
    return JSONRenderer().render(data)


# Filtered (built by the ORM for the request) and unfiltered (compiled once: UnfilteredRows).
LISTS = ({"include_archived": "true", "limit": 100}, {"limit": 100})


@pytest.mark.parametrize("params", LISTS, ids=["filtered", "unfiltered"])
@pytest.mark.parametrize("role", ROLES)
def test_each_listed_row_is_the_serializers_json_byte_for_byte(frozen, cast, variety, role, params):
    client = client_for(cast[role])
    page = client.get(SESSIONS, params)
    assert page.status_code == 200
    rows = page.json()["results"]
    assert len(rows) >= 4  # what even a visitor may see

    for row in rows:
        detail = client.get(url(row["id"]))
        assert detail.status_code == 200
        assert row == detail.json()
        assert rendered(row) == detail.content


def test_the_upcoming_list_writes_the_same_rows(frozen, cast, variety):
    client = client_for(cast["member"])
    rows = client.get(f"{SESSIONS}/upcoming").json()["results"]
    assert [row["title"] for row in rows] == ["Seat held", "Full", "Host window", "Later"]

    for row in rows:
        assert rendered(row) == client.get(url(row["id"])).content


@pytest.mark.parametrize("role", ROLES)
def test_the_rows_and_the_serializer_agree_at_every_moment(frozen, cast, variety, role, rf):
    """Before, inside and after the join windows, for one query of every session."""
    user = cast[role]
    request = rf.get(SESSIONS)
    request.user = user
    ordered = ("start_time", "title", "id")
    for moment in (NOW - 60 * MINUTE, NOW, NOW + 15 * MINUTE, NOW + 200 * MINUTE):
        frozen.move_to(moment)
        visible = TrainingSession.objects.visible_to(user).order_by(*ordered)
        rows = listing.represent(listing.session_values(visible, user), user, moment)
        expected = SessionSerializer(
            sessions_for(user).order_by(*ordered),
            many=True,
            context={"request": request, "now": moment},
        ).data

        assert rendered(rows) == rendered(expected)


def test_every_can_join_reason_is_covered(frozen, cast, variety):
    """The fixture reaches each answer, so the comparisons above cover them all."""
    reasons = set()
    for role in ROLES:
        page = client_for(cast[role]).get(SESSIONS, {"include_archived": "true"})
        reasons |= {row["can_join"]["reason"] for row in page.json()["results"]}

    assert reasons == {
        "login_required",
        "canceled",
        "ended",
        "members_only",
        "too_early",
        "too_late",
        "full",
        "room_not_ready",
        "ok",
    }


def test_the_columns_read_are_the_serializers_fields(db):
    """A field added to the serializer must be added to the rows too (and the reverse)."""
    shown = {column.split("__")[0].removesuffix("_id") for column in listing.COLUMNS}
    per_row = {"seats_taken", "caller_holds_seat", "caller_registered"}
    fields = set(SessionSerializer.Meta.fields) - {"seats_left", "can_join", "registered"}

    assert shown - per_row == fields


INSTANTS = [
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 0, 0, 1, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 0, 0, 123456, tzinfo=UTC),
    datetime(2, 1, 1, 0, 0, tzinfo=UTC),
    datetime(9998, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


@pytest.mark.parametrize("instant", INSTANTS, ids=str)
def test_timestamps_read_as_text_are_written_as_the_serializer_writes_them(instant):
    """As each database gives the text (PostgreSQL's to_char, SQLite's stored value)."""
    expected = UTCDateTimeField().to_representation(instant)
    naive = instant.replace(tzinfo=None)
    postgresql = naive.isoformat(timespec="microseconds")  # to_char(…, '…HH24:MI:SS.US')
    sqlite = str(naive)  # as Django stores it

    assert listing.iso_text(postgresql) == expected
    assert listing.iso_text(sqlite) == expected
    assert listing.iso_text(instant.isoformat()) == expected  # any other text: parsed
    assert listing.utc_iso(instant) == expected
    assert listing.utc_iso(instant.astimezone(ZoneInfo("Europe/Berlin"))) == expected


def test_the_callers_role_is_worked_out_once_per_list(frozen, cast, variety, monkeypatch):
    calls = []
    of = listing.Caller.of
    monkeypatch.setattr(listing.Caller, "of", lambda user: calls.append(user) or of(user))

    page = client_for(cast["member"]).get(SESSIONS, {"include_archived": "true"})

    assert len(page.json()["results"]) == len(variety)
    assert calls == [cast["member"]]


def test_each_set_of_tags_is_decoded_once_per_list(frozen, cast, make_session, monkeypatch):
    tagged = {
        "kata a": ["kata", "beginners"],
        "kata b": ["kata", "beginners"],
        "kumite": ["kumite"],
        "untagged": [],
    }
    for title, tags in tagged.items():
        make_session(title=title, tags=tags)
    decoded = []
    tags_of = listing._tags
    monkeypatch.setattr(listing, "_tags", lambda text: decoded.append(text) or tags_of(text))

    rows = client_for(cast["member"]).get(SESSIONS).json()["results"]

    assert {row["title"]: row["tags"] for row in rows} == tagged
    assert sorted(decoded) == sorted(['["kata", "beginners"]', '["kumite"]', "[]"])


@pytest.mark.parametrize("role", ROLES)
def test_the_unfiltered_rows_are_those_of_the_unfiltered_query(frozen, cast, variety, role):
    """Each slice the paginator asks for, including an empty one past the end."""
    user = cast[role]
    queryset = listing.session_values(
        SessionFilter.unfiltered(TrainingSession.objects.visible_to(user)), user
    )
    rows = listing.UnfilteredRows(user)
    for start, stop in ((0, 3), (2, 5), (0, 101), (7, 9), (100, 201)):
        assert rows[start:stop] == list(queryset[start:stop]), (start, stop)


def test_one_kind_of_callers_compiled_list_never_serves_another(frozen, cast, variety):
    """The member's SQL, compiled first, is not the visitor's: visitors see public sessions
    only; and each caller's own seats and registrations are theirs."""
    titles = {}
    registered = {}
    for role in ("member", "anonymous", "public", "admin", "other_instructor"):
        rows = client_for(cast[role]).get(SESSIONS).json()["results"]
        titles[role] = {row["title"] for row in rows}
        registered[role] = {row["title"] for row in rows if row["registered"]}

    public = {s.title for s in variety.values() if s.is_public and s.archived_at is None}
    assert titles["anonymous"] == titles["public"] == public
    assert titles["member"] == titles["admin"] == titles["other_instructor"] > public
    assert registered["member"] == {"Later", "Full"}
    assert registered["admin"] == registered["other_instructor"] == set()


def test_a_list_compiles_its_sql_once(frozen, cast, variety, django_assert_num_queries):
    client = client_for(cast["member"])
    client.get(SESSIONS, {"limit": 4})  # compiled here, or by an earlier test
    before = _compiled_query.cache_info()
    with django_assert_num_queries(3):  # the caller's account, the page, the count
        second = client.get(SESSIONS, {"limit": 4})
    after = _compiled_query.cache_info()

    assert second.status_code == 200 and len(second.json()["results"]) == 4
    assert (after.hits - before.hits, after.misses - before.misses) == (1, 0)
