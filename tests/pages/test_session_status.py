"""``GET /sessions/status/?ids=…``: the live state of a page's sessions, for its script."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessions_app.models import SessionAttendance, SessionStatus, TrainingSession
from tests.conftest import NOW, make_user
from tests.pages.conftest import ROLES
from wwmaa.models import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def ms(instant) -> int:
    return int(instant.timestamp() * 1000)


def status_of(client, *sessions, extra: str = ""):
    ids = ",".join(str(s.pk) for s in sessions) + extra
    response = client.get(f"/sessions/status/?ids={ids}")
    assert response.status_code == 200
    return response


def test_it_answers_the_state_of_each_session_and_the_server_time(logged_in, make_session):
    session = make_session(start_time=NOW + timedelta(minutes=25), capacity=5)
    SessionAttendance.objects.create(
        session=session, user=make_user("seated", Role.MEMBER), joined_at=NOW
    )

    response = status_of(logged_in("member"), session)

    assert response.json() == {
        "server_now": ms(NOW),
        "poll_seconds": 25,
        "sessions": [
            {
                "id": str(session.pk),
                "status": "scheduled",
                "status_label": "Scheduled",
                "can_join": False,
                "reason": "too_early",
                "message": "Joining opens 10 minutes before the start.",
                "opens_at": ms(NOW + timedelta(minutes=15)),
                "starts_at": ms(NOW + timedelta(minutes=25)),
                "ends_at": ms(NOW + timedelta(minutes=85)),
                "seats_left": 4,
                "capacity": 5,
            }
        ],
    }
    assert "no-store" in response["Cache-Control"]


def test_the_answer_is_for_the_viewer(logged_in, make_session):
    session = make_session(start_time=NOW + timedelta(minutes=25))

    answer = status_of(logged_in("instructor"), session).json()["sessions"][0]

    assert (answer["can_join"], answer["opens_at"]) == (True, ms(NOW - timedelta(minutes=5)))


def test_it_tells_a_cancellation(logged_in, make_session):
    session = make_session()
    TrainingSession.objects.filter(pk=session.pk).update(status=SessionStatus.CANCELED)

    answer = status_of(logged_in("member"), session).json()["sessions"][0]

    assert (answer["status"], answer["reason"]) == ("canceled", "canceled")


@pytest.mark.parametrize("who", ["anonymous", "public_user"])
def test_sessions_the_viewer_may_not_see_are_left_out(logged_in, who, make_session):
    shown = make_session(is_public=True)
    hidden = make_session(is_public=False, start_time=NOW + timedelta(hours=5))

    sessions = status_of(logged_in(who), shown, hidden).json()["sessions"]

    assert [s["id"] for s in sessions] == [str(shown.pk)]
    assert sessions[0]["reason"] == ("login_required" if who == "anonymous" else "members_only")


def test_malformed_and_unknown_ids_name_nothing(client, make_session):
    session = make_session(is_public=True)

    sessions = status_of(
        client, session, extra=",nonsense,00000000-0000-0000-0000-000000000000,,'--"
    ).json()["sessions"]

    assert [s["id"] for s in sessions] == [str(session.pk)]


def test_without_ids_it_answers_no_sessions(client):
    assert client.get("/sessions/status/").json()["sessions"] == []


def test_it_answers_only_gets(client):
    assert client.post("/sessions/status/").status_code == 405


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("n", [1, 50])
def test_one_query_answers_all_sessions(
    logged_in, who, n, event, sessions_on, django_assert_max_num_queries
):
    sessions = sessions_on(event, n)
    browser = logged_in(who)

    # Session, user, the sessions with their counts.
    with django_assert_max_num_queries(3):
        answer = status_of(browser, *sessions).json()
    assert len(answer["sessions"]) == n
