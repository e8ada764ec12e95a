"""``manage.py runjob NAME``: one tick now, and a line saying what it did."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from sessions_app.models import SessionStatus
from tests.conftest import NOW


def runjob(*args) -> str:
    out = io.StringIO()
    call_command("runjob", *args, stdout=out)
    return out.getvalue().strip()


# Committing for real, as by hand: the emails go out when each claim commits, before the
# command prints its line.
@pytest.mark.django_db(transaction=True)
def test_it_runs_a_reminders_tick_and_says_what_it_sent(
    frozen, make_session, register, member, mailoutbox
):
    register(make_session(start_time=NOW + timedelta(minutes=5)), member)

    assert runjob("reminders") == "reminders: 2 sent, 4 skipped, 0 retrying, 0 failed"
    assert len(mailoutbox) == 2
    assert runjob("reminders") == "reminders: 0 sent, 0 skipped, 0 retrying, 0 failed"


def test_each_job_can_be_run_by_name(frozen, make_session, fake_provider):
    make_session(start_time=NOW + timedelta(hours=1))
    make_session(title="Old", start_time=NOW - timedelta(hours=3))

    assert runjob("ensure_rooms") == "ensure_rooms: 1 created, 0 retrying, 0 failed"
    assert runjob("auto_end") == "auto_end: 0 ended overdue, 1 ended not started"
    assert runjob("cleanup") == "cleanup: 0 rooms retired, 0 rooms retrying, 0 archived"


def test_now_can_be_given_to_check_a_chosen_instant_by_hand(make_session):
    session = make_session(start_time=NOW, duration_minutes=60)

    assert runjob("auto_end", "--now", "2026-06-01T17:29:59Z").startswith("auto_end: 0")
    assert runjob("auto_end", "--now", "2026-06-01T10:30:00-07:00") == (
        "auto_end: 0 ended overdue, 1 ended not started"
    )
    session.refresh_from_db()
    assert session.status == SessionStatus.ENDED


def test_an_unknown_job_is_one_line_listing_the_names(db):
    with pytest.raises(CommandError) as error:
        runjob("reminder")

    assert str(error.value) == (
        "Unknown job 'reminder'; choose one of: ensure_rooms, reminders, auto_end, cleanup."
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-06-01T17:00:00", "has no UTC offset"),
        ("tomorrow", "is not an ISO 8601 date and time"),
    ],
)
def test_a_naive_or_unreadable_now_is_refused(db, value, message):
    with pytest.raises(CommandError, match=message):
        runjob("auto_end", "--now", value)
