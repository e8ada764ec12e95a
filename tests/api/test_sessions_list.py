"""``GET /api/training/sessions``: visibility, pagination, sorting and filters.

Runs on SQLite and PostgreSQL alike (the tag filter compiles differently on each).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from events_app.models import Event
from sessions_app.models import SessionAttendance, SessionStatus
from tests.api.conftest import SESSIONS, client_for
from tests.conftest import NOW, make_user
from wwmaa.models import Role

HOUR = timedelta(hours=1)


def titles(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["title"] for row in response.json()["results"]]


@pytest.fixture
def three(make_session):
    """Three sessions, hours apart, created in the reverse order of their start."""
    c = make_session(title="Cardio", start_time=NOW + 3 * HOUR)
    b = make_session(title="Aikido", start_time=NOW + 2 * HOUR, is_public=True)
    a = make_session(title="Bo staff", start_time=NOW + HOUR)
    return a, b, c


def test_anonymous_visitors_see_only_public_sessions(frozen, anon, three):
    assert titles(anon.get(SESSIONS)) == ["Aikido"]


def test_public_accounts_see_only_public_sessions(frozen, public_user, three):
    assert titles(client_for(public_user).get(SESSIONS)) == ["Aikido"]


def test_members_see_every_session_soonest_first(frozen, member, three):
    assert titles(client_for(member).get(SESSIONS)) == ["Bo staff", "Aikido", "Cardio"]


def test_the_list_answers_without_and_with_a_trailing_slash(frozen, member, three):
    client = client_for(member)

    assert titles(client.get(SESSIONS)) == titles(client.get(f"{SESSIONS}/"))


def test_archived_sessions_are_left_out_unless_asked_for(frozen, member, make_session):
    make_session(title="Current")
    make_session(
        title="Old",
        start_time=NOW - 240 * HOUR,
        status=SessionStatus.ENDED,
        archived_at=NOW - HOUR,
    )
    client = client_for(member)

    assert titles(client.get(SESSIONS)) == ["Current"]
    assert titles(client.get(SESSIONS, {"include_archived": "true"})) == ["Old", "Current"]
    assert titles(client.get(SESSIONS, {"include_archived": "false"})) == ["Current"]


class TestPagination:
    @pytest.fixture
    def five(self, make_session):
        return [make_session(title=f"Class {i}", start_time=NOW + (i + 1) * HOUR) for i in range(5)]

    def test_a_page_has_count_next_previous_and_results(self, frozen, member, five):
        response = client_for(member).get(SESSIONS, {"limit": 2, "offset": 2})

        page = response.json()
        assert page["count"] == 5
        assert [row["title"] for row in page["results"]] == ["Class 2", "Class 3"]
        assert page["next"] == f"http://testserver{SESSIONS}?limit=2&offset=4"
        assert page["previous"] == f"http://testserver{SESSIONS}?limit=2"

    def test_following_next_links_visits_every_row_once(self, frozen, member, five):
        client = client_for(member)
        seen = []
        link = f"{SESSIONS}?limit=2"
        while link:
            page = client.get(link).json()
            seen += [row["title"] for row in page["results"]]
            link = page["next"]

        assert seen == [f"Class {i}" for i in range(5)]

    def test_the_first_and_last_pages_have_no_previous_and_no_next(self, frozen, member, five):
        client = client_for(member)

        assert client.get(SESSIONS, {"limit": 5}).json()["next"] is None
        assert client.get(SESSIONS, {"limit": 5}).json()["previous"] is None

    def test_an_offset_past_the_end_gives_an_empty_page(self, frozen, member, five):
        page = client_for(member).get(SESSIONS, {"offset": 50}).json()

        assert page["count"] == 5
        assert page["results"] == []

    def test_an_offset_at_the_end_gives_an_empty_page(self, frozen, member, five):
        page = client_for(member).get(SESSIONS, {"limit": 2, "offset": 5}).json()

        assert page["count"] == 5
        assert page["results"] == []
        assert page["next"] is None
        assert page["previous"] == f"http://testserver{SESSIONS}?limit=2&offset=3"

    @pytest.mark.parametrize(
        ("limit", "offset", "shown", "queries"),
        [
            (5, 0, 5, 2),  # the whole list on one full page: no count query
            (10, 0, 5, 2),
            (2, 4, 1, 2),  # the last page
            (3, 2, 3, 2),  # a full last page
            (4, 0, 4, 3),  # one row more follows: counted by the database
            (2, 2, 2, 3),
            (2, 50, 0, 3),  # past the end: counted by the database
        ],
    )
    def test_the_last_page_counts_its_rows_without_a_count_query(
        self, frozen, member, five, django_assert_num_queries, limit, offset, shown, queries
    ):
        client = client_for(member)

        # The user (JWT), the page, and the count unless the page is the last one.
        with django_assert_num_queries(queries):
            page = client.get(SESSIONS, {"limit": limit, "offset": offset}).json()

        assert page["count"] == 5
        assert [row["title"] for row in page["results"]] == [
            f"Class {i}" for i in range(offset, min(offset + limit, 5))
        ]
        assert len(page["results"]) == shown
        assert (page["next"] is None) == (offset + limit >= 5)

    def test_an_empty_list_is_counted_without_a_count_query(
        self, frozen, member, django_assert_num_queries
    ):
        client = client_for(member)

        with django_assert_num_queries(2):
            page = client.get(SESSIONS).json()

        assert page == {"count": 0, "next": None, "previous": None, "results": []}

    def test_the_default_page_holds_twenty(self, frozen, member, make_session):
        for i in range(21):
            make_session(title=f"S{i:02}", start_time=NOW + (i + 1) * HOUR)

        page = client_for(member).get(SESSIONS).json()

        assert len(page["results"]) == 20
        assert page["next"].endswith("limit=20&offset=20")

    def test_a_limit_above_one_hundred_is_lowered_to_it(self, frozen, member, make_session):
        for i in range(101):
            make_session(title=f"S{i:03}", start_time=NOW + (i + 1) * HOUR)

        page = client_for(member).get(SESSIONS, {"limit": 500}).json()

        assert len(page["results"]) == 100
        assert "limit=100" in page["next"]

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"limit": "ten"}, "limit"),
            ({"limit": "0"}, "limit"),
            ({"limit": "-5"}, "limit"),
            ({"limit": "1.5"}, "limit"),
            ({"offset": "-1"}, "offset"),
            ({"offset": "x"}, "offset"),
            ({"offset": str(10**30)}, "offset"),
        ],
    )
    def test_a_bad_limit_or_offset_is_a_400_naming_it(self, frozen, member, five, params, field):
        response = client_for(member).get(SESSIONS, params)

        assert response.status_code == 400
        assert response.json()["code"] == "invalid"
        assert field in response.json()


class TestSorting:
    def test_sessions_are_sorted_by_start_time_by_default(self, frozen, member, three):
        assert titles(client_for(member).get(SESSIONS)) == ["Bo staff", "Aikido", "Cardio"]

    def test_they_can_be_sorted_by_start_time_descending(self, frozen, member, three):
        response = client_for(member).get(SESSIONS, {"sort_order": "desc"})

        assert titles(response) == ["Cardio", "Aikido", "Bo staff"]

    def test_they_can_be_sorted_by_title(self, frozen, member, three):
        response = client_for(member).get(SESSIONS, {"sort_by": "title"})

        assert titles(response) == ["Aikido", "Bo staff", "Cardio"]

    def test_they_can_be_sorted_by_title_descending(self, frozen, member, three):
        response = client_for(member).get(SESSIONS, {"sort_by": "title", "sort_order": "desc"})

        assert titles(response) == ["Cardio", "Bo staff", "Aikido"]

    def test_they_can_be_sorted_by_creation(self, frozen, member, make_session):
        # Created in the reverse order of their start times.
        for hours, title in [(3, "First"), (2, "Second"), (1, "Third")]:
            make_session(title=title, start_time=NOW + hours * HOUR)
            frozen.shift(timedelta(minutes=1))
        client = client_for(member)

        assert titles(client.get(SESSIONS, {"sort_by": "created_at"})) == [
            "First",
            "Second",
            "Third",
        ]
        assert titles(client.get(SESSIONS, {"sort_by": "created_at", "sort_order": "desc"})) == [
            "Third",
            "Second",
            "First",
        ]

    @pytest.mark.parametrize(
        "params",
        [{"sort_by": "instructor"}, {"sort_by": "-start_time"}, {"sort_order": "up"}],
    )
    def test_an_unknown_sort_key_or_order_is_a_400(self, frozen, member, three, params):
        response = client_for(member).get(SESSIONS, params)

        assert response.status_code == 400
        assert set(params) <= set(response.json())


class TestFilters:
    def test_by_status(self, frozen, member, make_session):
        make_session(title="Planned")
        make_session(title="Running", status=SessionStatus.LIVE, start_time=NOW - HOUR / 2)
        make_session(title="Called off", status=SessionStatus.CANCELED, start_time=NOW + 5 * HOUR)
        client = client_for(member)

        assert titles(client.get(SESSIONS, {"status": "live"})) == ["Running"]
        assert titles(client.get(f"{SESSIONS}?status=live&status=canceled")) == [
            "Running",
            "Called off",
        ]

    def test_by_instructor(self, frozen, member, make_session, other_instructor):
        make_session(title="Kenji's")
        make_session(title="Maria's", instructor=other_instructor)

        response = client_for(member).get(SESSIONS, {"instructor": other_instructor.pk})

        assert titles(response) == ["Maria's"]

    def test_by_an_instructor_who_does_not_exist_finds_nothing(self, frozen, member, three):
        assert titles(client_for(member).get(SESSIONS, {"instructor": 987654})) == []

    def test_by_event(self, frozen, member, make_session, event):
        make_session(title="At camp", event=event)
        make_session(title="Elsewhere", start_time=NOW + 5 * HOUR)

        assert titles(client_for(member).get(SESSIONS, {"event": str(event.pk)})) == ["At camp"]

    def test_by_tag_on_this_database(self, frozen, member, make_session):
        make_session(title="Kata", tags=["kata", "beginners"])
        make_session(title="Sparring", tags=["kumite"], start_time=NOW + 3 * HOUR)
        make_session(title="Untagged", start_time=NOW + 4 * HOUR)
        client = client_for(member)

        assert titles(client.get(SESSIONS, {"tag": "kata"})) == ["Kata"]
        assert titles(client.get(SESSIONS, {"tag": "kumite"})) == ["Sparring"]
        assert titles(client.get(SESSIONS, {"tag": "kat"})) == []

    def test_the_tag_is_matched_as_tags_are_stored_lower_case_and_trimmed(
        self, frozen, member, make_session
    ):
        make_session(title="Kata", tags=["beginners"])

        assert titles(client_for(member).get(SESSIONS, {"tag": "  Beginners "})) == ["Kata"]

    def test_a_tag_with_quotes_and_brackets_is_just_text(self, frozen, member, make_session):
        make_session(title="Odd", tags=['a"b]'])
        make_session(title="Plain", tags=["ab"], start_time=NOW + 3 * HOUR)

        assert titles(client_for(member).get(SESSIONS, {"tag": 'a"b]'})) == ["Odd"]

    def test_upcoming_keeps_scheduled_sessions_that_have_not_started(
        self, frozen, member, make_session
    ):
        make_session(title="Later")
        make_session(title="Running", status=SessionStatus.LIVE, start_time=NOW - HOUR / 2)
        make_session(title="Overdue", start_time=NOW - HOUR / 4)
        client = client_for(member)

        assert titles(client.get(SESSIONS, {"upcoming": "true"})) == ["Later"]
        assert titles(client.get(SESSIONS, {"upcoming": "false"})) == ["Running", "Overdue"]

    def test_filters_combine(self, frozen, member, make_session, other_instructor):
        make_session(title="Match", tags=["kata"], instructor=other_instructor)
        make_session(title="Wrong teacher", tags=["kata"], start_time=NOW + 3 * HOUR)
        make_session(title="Wrong tag", instructor=other_instructor, start_time=NOW + 4 * HOUR)

        response = client_for(member).get(
            SESSIONS, {"tag": "kata", "instructor": other_instructor.pk, "status": "scheduled"}
        )

        assert titles(response) == ["Match"]

    def test_filters_never_reveal_hidden_sessions(self, frozen, anon, make_session, event):
        make_session(title="Hidden", tags=["kata"], event=event)

        assert titles(anon.get(SESSIONS, {"tag": "kata", "event": str(event.pk)})) == []

    @pytest.mark.parametrize(
        "params",
        [
            {"status": "running"},
            {"instructor": "kenji"},
            {"instructor": "0"},
            {"instructor": str(10**30)},
            {"event": "not-a-uuid"},
            {"upcoming": "maybe"},
            {"include_archived": "yes please"},
            {"tag": "x" * 41},
        ],
    )
    def test_a_bad_filter_value_is_a_400_naming_the_parameter(self, frozen, member, params):
        response = client_for(member).get(SESSIONS, params)

        assert response.status_code == 400
        assert response.json()["code"] == "invalid"
        assert set(params) <= set(response.json())

    def test_unknown_parameters_are_ignored(self, frozen, member, three):
        assert len(titles(client_for(member).get(SESSIONS, {"colour": "blue"}))) == 3


class TestCanJoinPerRow:
    def test_each_row_answers_can_join_for_the_caller(self, frozen, member, make_session):
        make_session(title="Open now", start_time=NOW + timedelta(minutes=5))
        make_session(title="Later", start_time=NOW + 2 * HOUR)

        rows = client_for(member).get(SESSIONS).json()["results"]

        assert [(row["title"], row["can_join"]["reason"]) for row in rows] == [
            ("Open now", "ok"),
            ("Later", "too_early"),
        ]

    def test_a_full_session_is_full_except_for_someone_holding_a_seat(
        self, frozen, member, other_member, make_session
    ):
        session = make_session(start_time=NOW + timedelta(minutes=5), capacity=1)
        SessionAttendance.objects.create(session=session, user=member, joined_at=NOW)

        mine = client_for(member).get(SESSIONS).json()["results"][0]
        theirs = client_for(other_member).get(SESSIONS).json()["results"][0]

        assert (mine["seats_left"], mine["can_join"]["reason"]) == (0, "ok")
        assert (theirs["seats_left"], theirs["can_join"]["reason"]) == (0, "full")

    def test_the_instructor_does_not_take_a_seat(self, frozen, member, instructor, make_session):
        session = make_session(start_time=NOW + timedelta(minutes=5), capacity=2)
        SessionAttendance.objects.create(session=session, user=instructor, joined_at=NOW)
        SessionAttendance.objects.create(session=session, user=member, joined_at=NOW)

        row = client_for(member).get(SESSIONS).json()["results"][0]

        assert row["seats_left"] == 1


class TestQueryCount:
    """A page costs the same number of queries whatever its size."""

    @pytest.fixture
    def sessions(self, make_session, instructor, other_instructor, event):
        def make(count: int) -> None:
            watchers = [make_user(f"watcher{i}", Role.MEMBER) for i in range(3)]
            for i in range(count):
                session = make_session(
                    title=f"Class {i}",
                    start_time=NOW + (i + 1) * HOUR,
                    instructor=other_instructor if i % 2 else instructor,
                    event=event if i % 3 else None,
                    capacity=10,
                    is_public=bool(i % 2),
                    tags=["kata"],
                )
                for watcher in watchers:
                    SessionAttendance.objects.create(session=session, user=watcher, joined_at=NOW)

        return make

    @pytest.mark.parametrize("count", [1, 50])
    @pytest.mark.parametrize("role", ["anonymous", "member"])
    def test_the_list_costs_at_most_three_queries(
        self, frozen, sessions, cast, django_assert_max_num_queries, count, role
    ):
        sessions(count)
        client = client_for(cast[role])

        # The user (JWT), the count, the page.
        with django_assert_max_num_queries(3):
            response = client.get(SESSIONS, {"limit": 100, "tag": "kata"})

        assert response.status_code == 200
        assert len(response.json()["results"]) == (count if role == "member" else count // 2)


def test_the_event_filter_accepts_an_event_the_caller_cannot_see_and_finds_nothing(
    frozen, public_user, make_session
):
    private = Event.objects.create(
        title="Private", starts_at=NOW, ends_at=NOW + HOUR, is_public=False
    )
    make_session(event=private)

    assert titles(client_for(public_user).get(SESSIONS, {"event": str(private.pk)})) == []
