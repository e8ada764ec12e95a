"""``manage.py zerodb``: init, status, push, sync --full, retry and verify."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_q.models import Schedule

from sessions_app.models import TrainingSession
from sessions_app.storage.fieldmap import TABLES
from sessions_app.storage.models import OutboxEntry, OutboxState, RowMapping
from sessions_app.storage.tasks import SCHEDULE_NAME
from tests.conftest import NOW
from tests.storage.support import ROOT, row_answer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def run(*args) -> str:
    out = io.StringIO()
    call_command("zerodb", *args, stdout=out)
    return out.getvalue()


def doc(obj) -> dict:
    spec = next(s for s in TABLES.values() if s.model is type(obj))
    return spec.to_document(spec.load(obj.pk))


# Bad input and the adapter off


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Name an action"),
        (("frobnicate",), "invalid choice: 'frobnicate'"),
        (("sync",), "sync needs --full"),
        (("retry", "abc"), "invalid int value: 'abc'"),
        (("push", "--limit", "0"), "--limit must be a positive"),
        (("verify", "--table", "users"), "invalid choice: 'users'"),
    ],
)
def test_bad_input_gets_a_one_line_message(zerodb_on, args, message):
    with pytest.raises(CommandError, match=message) as raised:
        run(*args)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("args", [("init",), ("push",), ("sync", "--full"), ("verify",)])
def test_actions_that_call_zerodb_refuse_while_off(args, no_calls):
    with pytest.raises(CommandError, match="ZeroDB is off: ZERODB_API_KEY is not set"):
        run(*args)


def test_status_says_off(no_calls):
    out = run("status")
    assert out.splitlines()[0] == (
        "ZeroDB: off (ZERODB_API_KEY is not set, so nothing is queued or sent.)"
    )
    assert "Backlog: 0 pending" in out


# status


def test_status_shows_the_backlog_and_dead_letters(zerodb_on, make_session, frozen):
    first = make_session(start_time=NOW + timedelta(days=1))
    make_session(start_time=NOW + timedelta(days=2))
    OutboxEntry.objects.filter(object_id=first.pk).update(
        state=OutboxState.DEAD, last_error="POST /tables/x/rows -> 422: bad", last_attempt_at=NOW
    )
    frozen.shift(timedelta(minutes=5))
    out = run("status")
    assert "ZeroDB: on (https://zerodb.test/v1/projects/proj-123/database, auth x-api-key)" in out
    assert "Backlog: 1 pending (0 backing off), oldest 5 min" in out
    assert "Dead letters: 1" in out
    assert "Last error: POST /tables/x/rows -> 422: bad" in out
    assert "zdb-test-key" not in out


# init


def test_init_creates_the_tables_and_the_schedule_and_can_run_again(zerodb_on, wire):
    Schedule.objects.filter(name=SCHEDULE_NAME).delete()
    wire.post(f"{ROOT}/tables", status=201, json={})
    first = run("init")
    assert [c.request.method for c in wire.calls] == ["POST"] * 3
    assert "training_sessions: created" in first
    assert "Drain schedule: installed" in first
    wire.replace("POST", f"{ROOT}/tables", status=409, json={"detail": "Table already exists"})
    second = run("init")
    assert "events: exists already" in second
    assert "Drain schedule: present" in second
    assert Schedule.objects.filter(name=SCHEDULE_NAME).count() == 1


def test_init_reports_a_zerodb_error_in_one_line(zerodb_on, wire):
    wire.post(f"{ROOT}/tables", status=401, json={"detail": "Invalid API key"})
    with pytest.raises(CommandError, match=r"ZeroDB: POST /tables -> 401: Invalid API key"):
        run("init")


# push


def test_push_delivers_everything_with_progress_and_a_summary(zerodb_on, make_session, wire):
    for day in range(150):
        make_session(start_time=NOW + timedelta(days=day + 1))
    wire.post(f"{ROOT}/tables/training_sessions/rows", status=201, json=row_answer("r", {}))
    out = run("push")
    assert out.splitlines()[0] == "Pushing 150 pending entries…"
    assert "  100 rows: 100 delivered, 0 dead" in out
    assert out.splitlines()[-1] == (
        "Delivered 150 rows (150 entries); 0 moved to dead letters; 0 pending, 0 dead."
    )


def test_push_stops_with_an_error_when_zerodb_is_down(zerodb_on, make_session, wire):
    make_session()
    wire.post(f"{ROOT}/tables/training_sessions/rows", status=503)
    with pytest.raises(CommandError, match=r"1 pending, 0 dead\. Stopped: POST .* -> 503"):
        run("push")


def test_push_honours_a_limit(zerodb_on, make_session, wire):
    for day in range(3):
        make_session(start_time=NOW + timedelta(days=day + 1))
    wire.post(f"{ROOT}/tables/training_sessions/rows", status=201, json=row_answer("r", {}))
    assert "Delivered 2 rows" in run("push", "--limit", "2")
    assert OutboxEntry.objects.count() == 1


# sync --full and retry


def test_sync_full_queues_every_row_once(zerodb_on, make_session, event, member):
    sessions = [make_session(start_time=NOW + timedelta(days=d + 1)) for d in range(3)]
    sessions[0].attendance.create(user=member, joined_at=NOW)
    OutboxEntry.objects.all().delete()
    out = run("sync", "--full")
    assert "training_sessions: 3 rows queued" in out
    assert "session_attendance: 1 rows queued" in out
    assert "events: 1 rows queued" in out
    assert OutboxEntry.objects.count() == 5
    run("sync", "--full")
    assert OutboxEntry.objects.count() == 5  # folded into the open entries


def test_retry_moves_dead_letters_back(zerodb_on, make_session):
    first, second = make_session(), make_session(start_time=NOW + timedelta(days=3))
    OutboxEntry.objects.update(state=OutboxState.DEAD, attempts=3)
    dead = OutboxEntry.objects.get(object_id=first.pk)
    assert "1 dead letter(s) queued again." in run("retry", str(dead.pk))
    assert OutboxEntry.objects.filter(state=OutboxState.DEAD).count() == 1
    assert "1 dead letter(s) queued again." in run("retry")
    assert set(OutboxEntry.objects.values_list("attempts", flat=True)) == {0}
    assert second


# verify


def test_verify_reports_missing_different_duplicated_and_extra_rows(zerodb_on, make_session, wire):
    same = make_session(start_time=NOW + timedelta(days=1))
    changed = make_session(start_time=NOW + timedelta(days=2))
    twice = make_session(start_time=NOW + timedelta(days=3))
    missing = make_session(start_time=NOW + timedelta(days=4))
    stale = {**doc(changed), "title": "Old title"}
    wire.get(
        f"{ROOT}/tables/training_sessions/rows",
        json=[
            row_answer("1", doc(same)),
            row_answer("2", stale),
            row_answer("3", doc(twice)),
            row_answer("4", doc(twice)),
            row_answer("5", {**doc(same), "id": "deleted-here"}),
        ],
    )
    for table in ("session_attendance", "events"):
        wire.get(f"{ROOT}/tables/{table}/rows", json={"rows": []})
    OutboxEntry.objects.all().delete()
    out = run("verify")
    assert (
        "training_sessions: 4 local, 5 in ZeroDB — 1 missing, 1 different, 1 duplicated, 1 extra"
    ) in out
    assert f"  missing    {missing.pk}" in out
    assert f"  different  {changed.pk} title" in out
    assert f"  duplicated {twice.pk} 2 rows" in out
    assert "  extra      deleted-here" in out
    assert "4 difference(s) found (run with --requeue to repair)." in out
    assert OutboxEntry.objects.count() == 0


def test_verify_requeue_queues_the_differences(zerodb_on, make_session, wire):
    missing = make_session()
    deleted_here = "0b5e7a52-1f7e-4c55-9d55-5c8f6bd1f0aa"
    wire.get(
        f"{ROOT}/tables/training_sessions/rows",
        json=[row_answer("8", {"id": deleted_here}), row_answer("9", {"id": "not-ours"})],
    )
    OutboxEntry.objects.all().delete()
    out = run("verify", "--table", "training_sessions", "--requeue")
    assert "(queued again)" in out
    assert "1 row(s) carry an id that is not one of ours" in out
    queued = {str(x) for x in OutboxEntry.objects.values_list("object_id", flat=True)}
    assert queued == {str(missing.pk), deleted_here}
    # The stray is looked up (and so deleted) at its delivery.
    assert RowMapping.objects.get(object_id=deleted_here).needs_lookup


def test_verify_says_when_everything_matches(zerodb_on, make_session, wire):
    session = make_session()
    wire.get(f"{ROOT}/tables/training_sessions/rows", json=[row_answer("1", doc(session))])
    out = run("verify", "--table", "training_sessions")
    assert "ZeroDB matches the local rows." in out
    assert TrainingSession.objects.count() == 1
