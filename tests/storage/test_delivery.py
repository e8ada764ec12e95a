"""Draining the outbox at the wire: upserts, coalescing, lookups, back-off, dead letters."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import requests
from django.db import DatabaseError, connection
from responses import matchers

from sessions_app.models import SessionAttendance, TrainingSession
from sessions_app.storage import outbox
from sessions_app.storage.delivery import (
    BUSY,
    DEAD,
    DELIVERED,
    IDLE,
    LATE_STORE_GRACE,
    RETRY,
    deliver_batch,
    deliver_one,
    drain,
)
from sessions_app.storage.fieldmap import TABLES
from sessions_app.storage.models import OutboxEntry, OutboxState, RowMapping
from sessions_app.storage.tasks import drain_outbox
from tests.conftest import NOW
from tests.storage.support import ROOT, row_answer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("zerodb_on", "frozen")]

ROWS = f"{ROOT}/tables/training_sessions/rows"
QUERY = f"{ROOT}/tables/training_sessions/query"


def doc_of(session) -> dict:
    spec = TABLES["training_sessions"]
    return spec.to_document(spec.load(session.pk))


def body(call) -> dict:
    return json.loads(call.request.body)


def mapped(session, row_id: str) -> RowMapping:
    return RowMapping.objects.create(table="training_sessions", object_id=session.pk, row_id=row_id)


@pytest.fixture
def session(make_session):
    return make_session()


# Upserts


def test_a_new_row_is_inserted_with_its_whole_document(session, zdb, wire):
    wire.post(ROWS, status=201, json=row_answer("row-1", {}))
    report = drain(zdb, now=NOW)
    assert report.delivered == 1
    assert body(wire.calls[0]) == {"row_data": doc_of(session)}
    assert body(wire.calls[0])["row_data"]["id"] == str(session.pk)
    mapping = RowMapping.objects.get(object_id=session.pk)
    assert (mapping.row_id, mapping.needs_lookup, mapping.lease_token) == ("row-1", False, None)
    assert OutboxEntry.objects.count() == 0


def test_a_known_row_is_replaced_under_its_row_id(session, zdb, wire):
    mapped(session, "row-7")
    wire.put(f"{ROWS}/row-7", json=row_answer("row-7", {}))
    assert deliver_one(zdb, now=NOW).kind == DELIVERED
    assert body(wire.calls[0]) == {"row_data": doc_of(session)}
    assert len(wire.calls) == 1


def test_several_changes_go_out_as_one_upsert_of_the_current_state(session, zdb, wire):
    for title in ("One", "Two", "Three"):
        TrainingSession.objects.filter(pk=session.pk).update(title=title)
    wire.post(ROWS, status=201, json=row_answer("row-1", {}))
    assert deliver_one(zdb, now=NOW).entries == 1
    assert len(wire.calls) == 1
    assert body(wire.calls[0])["row_data"]["title"] == "Three"
    assert deliver_one(zdb, now=NOW).kind == IDLE


def test_a_row_gone_from_zerodb_is_inserted_again(session, zdb, wire):
    mapped(session, "row-old")
    wire.put(f"{ROWS}/row-old", status=404, json={"detail": "Row not found"})
    wire.post(ROWS, status=200, json=row_answer("row-new", {}))
    assert deliver_one(zdb, now=NOW).kind == DELIVERED
    assert [c.request.method for c in wire.calls] == ["PUT", "POST"]
    assert RowMapping.objects.get(object_id=session.pk).row_id == "row-new"


def test_the_session_document_counts_its_attendance(session, member, zdb, wire):
    SessionAttendance.objects.create(session=session, user=member, joined_at=NOW)
    wire.post(ROWS, status=201, json=row_answer("s1", {}))
    wire.post(
        f"{ROOT}/tables/session_attendance/rows",
        status=201,
        json=row_answer("a1", {}, "session_attendance"),
    )
    drain(zdb, now=NOW)
    sent = {c.request.url: body(c)["row_data"] for c in wire.calls}
    assert sent[ROWS]["attendance_count"] == 1


# An insert without an answer


def test_an_unanswered_insert_waits_then_looks_the_row_up_instead_of_inserting(session, zdb, wire):
    wire.post(ROWS, body=requests.ReadTimeout("read timed out"))
    outcome = deliver_one(zdb, now=NOW)
    assert (outcome.kind, outcome.stop) == (RETRY, True)
    entry = OutboxEntry.objects.get()
    assert entry.next_attempt_at >= NOW + LATE_STORE_GRACE
    assert RowMapping.objects.get(object_id=session.pk).needs_lookup

    wire.replace("POST", ROWS, status=500)  # a second insert would fail this test
    wire.post(
        QUERY,
        json={"data": [row_answer("row-stored", doc_of(session))]},
        match=[
            matchers.json_params_matcher(
                {"filter": {"id": str(session.pk)}, "limit": 100, "skip": 0}
            )
        ],
    )
    wire.put(f"{ROWS}/row-stored", json=row_answer("row-stored", {}))
    later = NOW + LATE_STORE_GRACE
    assert deliver_one(zdb, now=later).kind == DELIVERED
    methods = [c.request.method for c in wire.calls[1:]]
    assert methods == ["POST", "PUT"]  # the query, then the replace: no second insert
    mapping = RowMapping.objects.get(object_id=session.pk)
    assert (mapping.row_id, mapping.needs_lookup) == ("row-stored", False)


def test_an_unanswered_insert_that_was_not_stored_is_inserted_after_the_lookup(session, zdb, wire):
    wire.post(ROWS, body=requests.ConnectionError("reset"))
    deliver_one(zdb, now=NOW)
    wire.replace("POST", ROWS, status=201, json=row_answer("row-2", {}))
    wire.post(QUERY, json={"rows": []})
    assert deliver_one(zdb, now=NOW + timedelta(hours=1)).kind == DELIVERED
    assert [c.request.url for c in wire.calls[1:]] == [QUERY, ROWS]


def test_a_rate_limited_insert_was_not_stored_and_is_retried_on_the_back_off(session, zdb, wire):
    wire.post(ROWS, status=429, headers={"Retry-After": "2"})
    deliver_one(zdb, now=NOW)
    entry = OutboxEntry.objects.get()
    assert entry.next_attempt_at == NOW + timedelta(seconds=5)


def test_the_lookup_keeps_one_row_and_deletes_duplicates(session, zdb, wire):
    RowMapping.objects.create(
        table="training_sessions", object_id=session.pk, row_id="b", needs_lookup=True
    )
    mine = doc_of(session)
    wire.post(QUERY, json=[row_answer("a", mine), row_answer("b", mine)])
    wire.delete(f"{ROWS}/a", status=204)
    wire.put(f"{ROWS}/b", json=row_answer("b", mine))
    deliver_one(zdb, now=NOW)
    assert [(c.request.method, c.request.url) for c in wire.calls] == [
        ("POST", QUERY),
        ("DELETE", f"{ROWS}/a"),
        ("PUT", f"{ROWS}/b"),
    ]


def test_the_lookup_trusts_only_rows_carrying_our_id(session, zdb, wire):
    # A deployment that ignores the filter answers with other rows: they are not ours.
    RowMapping.objects.create(table="training_sessions", object_id=session.pk, needs_lookup=True)
    wire.post(QUERY, json={"data": [row_answer("other", {"id": "someone-else"})]})
    wire.post(ROWS, status=201, json=row_answer("mine", {}))
    deliver_one(zdb, now=NOW)
    assert [c.request.url for c in wire.calls] == [QUERY, ROWS]
    assert wire.calls[1].request.method == "POST"


def test_a_lookup_pages_through_a_deployment_that_ignores_the_filter(session, zdb, wire):
    RowMapping.objects.create(table="training_sessions", object_id=session.pk, needs_lookup=True)
    others = [row_answer(f"o{i}", {"id": f"other-{i}"}) for i in range(100)]
    mine = row_answer("mine", doc_of(session))

    def page(skip):
        wanted = {"filter": {"id": str(session.pk)}, "limit": 100, "skip": skip}
        return [matchers.json_params_matcher(wanted)]

    wire.post(QUERY, json={"data": others}, match=page(0))
    wire.post(QUERY, json={"data": [mine]}, match=page(100))
    wire.put(f"{ROWS}/mine", json=mine)
    assert deliver_one(zdb, now=NOW).kind == DELIVERED
    assert [c.request.method for c in wire.calls] == ["POST", "POST", "PUT"]


def test_a_lookup_stops_when_skip_is_ignored_too(session, zdb, wire):
    RowMapping.objects.create(table="training_sessions", object_id=session.pk, needs_lookup=True)
    wire.post(QUERY, json=[row_answer(f"o{i}", {"id": f"other-{i}"}) for i in range(100)])
    wire.post(ROWS, status=201, json=row_answer("mine", {}))
    assert deliver_one(zdb, now=NOW).kind == DELIVERED
    assert [c.request.url for c in wire.calls] == [QUERY, QUERY, ROWS]


# Deletes


def test_a_deleted_row_is_deleted_in_zerodb_and_forgotten(session, zdb, wire):
    mapped(session, "row-9")
    session.delete()
    wire.delete(f"{ROWS}/row-9", status=204)
    assert drain(zdb, now=NOW).delivered == 1
    assert not RowMapping.objects.exists()
    assert OutboxEntry.objects.count() == 0


def test_a_row_already_gone_is_fine(session, zdb, wire):
    mapped(session, "row-9")
    session.delete()
    wire.delete(f"{ROWS}/row-9", status=404, json={"detail": "Row not found"})
    assert deliver_one(zdb, now=NOW).kind == DELIVERED


def test_deleting_a_row_never_confirmed_looks_it_up_by_id(session, zdb, wire):
    session_id = str(session.pk)
    session.delete()
    wire.post(QUERY, json={"data": [row_answer("stray", {"id": session_id})]})
    wire.delete(f"{ROWS}/stray", status=200)
    assert deliver_one(zdb, now=NOW).kind == DELIVERED
    assert [c.request.method for c in wire.calls] == ["POST", "DELETE"]


def test_a_row_created_and_deleted_before_delivery_costs_one_lookup(make_session, zdb, wire):
    make_session().delete()
    wire.post(QUERY, json={"data": []})
    assert drain(zdb, now=NOW).delivered == 1
    assert len(wire.calls) == 1


# Failures


def test_transient_failures_back_off_exponentially_up_to_the_cap(session, zdb, wire, settings):
    settings.ZERODB_BACKOFF_MAX_SECONDS = 30
    mapped(session, "row-1")
    wire.put(f"{ROWS}/row-1", status=503)
    now, delays = NOW, []
    for _ in range(5):
        outcome = deliver_one(zdb, now=now)
        assert outcome.kind == RETRY
        entry = OutboxEntry.objects.get()
        delays.append((entry.next_attempt_at - now).total_seconds())
        now = entry.next_attempt_at
    assert delays == [5, 10, 20, 30, 30]
    assert entry.attempts == 5
    assert entry.state == OutboxState.PENDING
    assert "503" in entry.last_error
    assert len(wire.calls) == 15  # each attempt: one call and two quick retries


def test_an_entry_backing_off_is_not_due_until_its_time(session, zdb, wire):
    mapped(session, "row-1")
    wire.put(f"{ROWS}/row-1", status=502)
    deliver_one(zdb, now=NOW)
    calls = len(wire.calls)
    assert deliver_one(zdb, now=NOW + timedelta(seconds=4)).kind == IDLE
    assert len(wire.calls) == calls


def test_a_transient_failure_ends_the_run(make_session, zdb, wire):
    for day in (1, 2, 3):
        make_session(start_time=NOW + timedelta(days=day))
    wire.post(ROWS, status=503)
    report = drain(zdb, now=NOW)
    assert (report.retrying, report.delivered) == (1, 0)
    assert "503" in report.stopped_by
    assert len(wire.calls) == 1
    assert OutboxEntry.objects.filter(attempts=0).count() == 2


def test_retry_after_holds_every_row_back(make_session, zdb, wire):
    first = make_session(start_time=NOW + timedelta(days=1))
    make_session(start_time=NOW + timedelta(days=2))
    mapped(first, "row-1")
    wire.put(f"{ROWS}/row-1", status=429, headers={"Retry-After": "120"})
    drain(zdb, now=NOW)
    assert set(OutboxEntry.objects.values_list("next_attempt_at", flat=True)) == {
        NOW + timedelta(seconds=120)
    }
    assert deliver_one(zdb, now=NOW + timedelta(seconds=119)).kind == IDLE


def test_bad_credentials_keep_the_entry_and_stop(session, zdb, wire, caplog):
    wire.post(ROWS, status=401, json={"detail": "Invalid API key"})
    report = drain(zdb, now=NOW)
    entry = OutboxEntry.objects.get()
    assert (entry.state, entry.attempts) == (OutboxState.PENDING, 1)
    assert "credentials" in entry.last_error
    assert report.stopped_by
    assert "ZERODB_API_KEY" in caplog.text


def test_a_rejected_row_becomes_a_dead_letter_and_the_run_goes_on(make_session, zdb, wire):
    bad = make_session(start_time=NOW + timedelta(days=1))
    good = make_session(start_time=NOW + timedelta(days=2))
    detail = [{"loc": ["body", "row_data", "tags"], "msg": "too many", "type": "value_error"}]
    wire.post(
        ROWS,
        status=422,
        json={"detail": detail},
        match=[matchers.json_params_matcher({"row_data": doc_of(bad)})],
    )
    wire.post(ROWS, status=201, json=row_answer("good", {}))
    report = drain(zdb, now=NOW)
    assert (report.dead, report.delivered) == (1, 1)
    dead = OutboxEntry.objects.get()
    assert (dead.object_id, dead.state) == (bad.pk, OutboxState.DEAD)
    assert "row_data.tags: too many" in dead.last_error
    assert RowMapping.objects.get(object_id=good.pk).row_id == "good"
    assert not RowMapping.objects.get(object_id=bad.pk).needs_lookup  # nothing was stored


def test_a_dead_letter_is_never_retried_on_its_own(session, zdb, wire):
    wire.post(ROWS, status=400, json={"detail": "bad"})
    drain(zdb, now=NOW)
    assert drain(zdb, now=NOW + timedelta(days=1)).rows == 0
    assert len(wire.calls) == 1


def test_a_later_change_that_is_accepted_supersedes_the_dead_letter(session, zdb, wire):
    wire.post(ROWS, status=409, json={"detail": "conflict"})
    drain(zdb, now=NOW)
    TrainingSession.objects.filter(pk=session.pk).update(title="Fixed")
    wire.replace("POST", ROWS, status=201, json=row_answer("row-1", {}))
    assert drain(zdb, now=NOW).delivered == 1
    assert OutboxEntry.objects.count() == 0


def test_retry_sends_dead_letters_back_to_the_queue(session, zdb, wire):
    wire.post(ROWS, status=409, json={"detail": "conflict"})
    drain(zdb, now=NOW)
    assert outbox.retry_dead() == 1
    entry = OutboxEntry.objects.get()
    assert (entry.state, entry.attempts) == (OutboxState.PENDING, 0)
    wire.replace("POST", ROWS, status=201, json=row_answer("row-1", {}))
    assert drain(zdb).delivered == 1


def test_a_missing_table_is_created_then_the_row_inserted(session, zdb, wire):
    wire.post(ROWS, status=404, json={"detail": "Table 'training_sessions' not found"})
    wire.post(f"{ROOT}/tables", status=201, json={"table_name": "training_sessions"})
    wire.post(ROWS, status=201, json=row_answer("row-1", {}))
    assert deliver_one(zdb, now=NOW).kind == DELIVERED
    assert [c.request.url for c in wire.calls] == [ROWS, f"{ROOT}/tables", ROWS]
    assert body(wire.calls[1])["table_name"] == "training_sessions"


# Concurrency and order


def test_a_leased_row_is_left_to_its_worker(session, zdb, no_calls):
    RowMapping.objects.create(
        table="training_sessions",
        object_id=session.pk,
        lease_token="other-worker",
        lease_until=NOW + timedelta(minutes=5),
    )
    assert deliver_one(zdb, now=NOW).kind == IDLE


def test_an_expired_lease_is_taken_over(session, zdb, wire):
    RowMapping.objects.create(
        table="training_sessions",
        object_id=session.pk,
        lease_token="dead-worker",
        lease_until=NOW - timedelta(seconds=1),
    )
    OutboxEntry.objects.update(claimed_by="dead-worker")  # claimed, never settled
    wire.post(QUERY, json=[])
    wire.post(ROWS, status=201, json=row_answer("row-1", {}))
    assert deliver_one(zdb, now=NOW).kind == DELIVERED
    assert OutboxEntry.objects.count() == 0


def test_a_lost_lease_race_does_nothing(session, zdb, no_calls, monkeypatch):
    from sessions_app.storage import delivery

    monkeypatch.setattr(delivery, "_lease_and_claim", lambda *args: None)
    assert deliver_one(zdb, now=NOW).kind == BUSY


# With ZERODB_SEND_THREADS above 1 a batch's calls are made on sender threads: the
# callbacks below read or write the database as another process would, and see only what
# is committed; each test runs one call at a time and with threads.


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("threads", [1, 4])
def test_a_first_delivery_is_leased_and_marked_for_lookup_before_its_insert(
    session, zdb, wire, threads
):
    seen = {}

    def insert(request):
        try:
            mapping = RowMapping.objects.get(object_id=session.pk)
        finally:
            connection.close()  # a sender thread opened one of its own
        seen.update(needs_lookup=mapping.needs_lookup, leased=mapping.lease_token is not None)
        return 201, {}, json.dumps(row_answer("row-1", {}))

    wire.add_callback("POST", ROWS, callback=insert)
    assert drain(zdb, now=NOW, threads=threads).delivered == 1
    # Had the answer been lost, the next attempt would have looked the row up first.
    assert seen == {"needs_lookup": True, "leased": True}
    mapping = RowMapping.objects.get(object_id=session.pk)
    assert (mapping.row_id, mapping.needs_lookup, mapping.lease_token) == ("row-1", False, None)


def made_first_by_another_worker(monkeypatch, session, **fields):
    """Another worker makes the row's map between our look for maps and our insert."""
    from sessions_app.storage import delivery

    make_maps = delivery._make_maps

    def racing(keys, token, until):
        RowMapping.objects.create(table="training_sessions", object_id=session.pk, **fields)
        return make_maps(keys, token, until)

    monkeypatch.setattr(delivery, "_make_maps", racing)


def test_a_map_another_worker_made_first_is_leased_like_any_other(session, zdb, wire, monkeypatch):
    made_first_by_another_worker(monkeypatch, session)
    seen = []

    def insert(request):
        seen.append(RowMapping.objects.get(object_id=session.pk).needs_lookup)
        return 201, {}, json.dumps(row_answer("row-1", {}))

    wire.add_callback("POST", ROWS, callback=insert)
    assert drain(zdb, now=NOW, threads=1).delivered == 1
    assert seen == [True]  # marked before the insert, like a map made by us
    mapping = RowMapping.objects.get(object_id=session.pk)
    assert (mapping.row_id, mapping.needs_lookup, mapping.lease_token) == ("row-1", False, None)


def test_a_map_another_worker_made_first_and_leased_is_left_to_it(
    session, zdb, no_calls, monkeypatch
):
    lease = {"lease_token": "other-worker", "lease_until": NOW + timedelta(minutes=5)}
    made_first_by_another_worker(monkeypatch, session, **lease)
    assert drain(zdb, now=NOW).rows == 0
    mapping = RowMapping.objects.get(object_id=session.pk)
    assert (mapping.lease_token, mapping.needs_lookup) == ("other-worker", False)
    assert OutboxEntry.objects.get().claimed_by is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("threads", [1, 4])
def test_a_row_taken_over_during_a_batch_is_left_to_its_new_worker(
    make_session, zdb, wire, threads
):
    kept, lost = make_session(), make_session()

    def insert(request):
        sent_id = json.loads(request.body)["row_data"]["id"]
        if sent_id == str(lost.pk):
            # Our lease ran out meanwhile and another worker took the row.
            try:
                RowMapping.objects.filter(object_id=lost.pk).update(
                    lease_token="other-worker", lease_until=NOW + timedelta(minutes=5)
                )
            finally:
                connection.close()
        return 201, {}, json.dumps(row_answer(f"row-{sent_id}", {}))

    wire.add_callback("POST", ROWS, callback=insert)
    report = drain(zdb, now=NOW, threads=threads)
    assert (report.delivered, report.rows) == (1, 1)
    assert not OutboxEntry.objects.filter(object_id=kept.pk).exists()
    # The new holder settles the row: its entry and its lease are left as they are.
    assert OutboxEntry.objects.filter(object_id=lost.pk).exists()
    mapping = RowMapping.objects.get(object_id=lost.pk)
    assert (mapping.lease_token, mapping.row_id) == ("other-worker", None)


def test_a_change_made_during_delivery_is_delivered_next(session, zdb, wire):
    def insert_while_someone_edits(request):
        TrainingSession.objects.filter(pk=session.pk).update(title="Edited meanwhile")
        return 201, {}, json.dumps(row_answer("row-1", {}))

    wire.add_callback("POST", ROWS, callback=insert_while_someone_edits)
    wire.put(f"{ROWS}/row-1", json=row_answer("row-1", {}))
    assert deliver_one(zdb, now=NOW).kind == DELIVERED
    assert OutboxEntry.objects.filter(state=OutboxState.PENDING).count() == 1
    assert deliver_one(zdb, now=NOW).kind == DELIVERED
    assert body(wire.calls[1])["row_data"]["title"] == "Edited meanwhile"


def test_the_oldest_due_row_goes_first(make_session, zdb, wire):
    first = make_session(start_time=NOW + timedelta(days=1))
    second = make_session(start_time=NOW + timedelta(days=2))
    TrainingSession.objects.filter(pk=first.pk).update(title="Changed again")  # folded
    wire.post(ROWS, status=201, json=row_answer("r", {}))
    drain(zdb, now=NOW)
    ids = [body(c)["row_data"]["id"] for c in wire.calls]
    assert ids == [str(first.pk), str(second.pk)]


# A batch on one thread: the stops and errors between its rows


def three_sessions(make_session) -> list[TrainingSession]:
    return [make_session(start_time=NOW + timedelta(days=day)) for day in (1, 2, 3)]


def nothing_held() -> bool:
    """No map leased and no entry claimed: every row is free for the next run."""
    return (
        not RowMapping.objects.exclude(lease_token=None).exists()
        and not OutboxEntry.objects.exclude(claimed_by=None).exists()
    )


def test_a_batch_out_of_time_settles_what_went_and_releases_the_rest(make_session, zdb, wire):
    first, *rest = three_sessions(make_session)
    wire.post(ROWS, status=201, json=row_answer("row-1", {}))

    outcomes = deliver_batch(zdb, now=NOW, out_of_time=lambda: len(wire.calls) >= 1)

    assert [(o.kind, o.object_id) for o in outcomes] == [(DELIVERED, first.pk)]
    assert len(wire.calls) == 1
    assert nothing_held()
    assert set(OutboxEntry.objects.values_list("object_id", flat=True)) == {s.pk for s in rest}
    # Released as they were: not attempted, so not backing off either.
    assert set(OutboxEntry.objects.values_list("attempts", flat=True)) == {0}
    assert drain(zdb, now=NOW).delivered == 2


def test_a_row_whose_document_cannot_be_built_is_retried_and_ends_the_run(
    make_session, zdb, wire, monkeypatch
):
    from sessions_app.storage import delivery

    first, bad, last = three_sessions(make_session)
    document = delivery._document

    def broken(claim, obj):
        if obj is not None and obj.pk == bad.pk:
            raise ValueError("cannot encode")
        return document(claim, obj)

    monkeypatch.setattr(delivery, "_document", broken)
    wire.post(ROWS, status=201, json=row_answer("row-1", {}))

    report = drain(zdb, now=NOW)

    # The rows before it went out; the run stopped at it; the row after it waits unsent.
    assert (report.delivered, report.retrying) == (1, 1)
    assert [body(c)["row_data"]["id"] for c in wire.calls] == [str(first.pk)]
    failed = OutboxEntry.objects.get(object_id=bad.pk)
    assert (failed.attempts, failed.last_error) == (1, "internal error: ValueError: cannot encode")
    assert OutboxEntry.objects.get(object_id=last.pk).attempts == 0
    assert nothing_held()


@pytest.mark.django_db(transaction=True)
def test_a_database_error_mid_batch_releases_every_unsettled_row(
    make_session, zdb, wire, monkeypatch
):
    from sessions_app.storage import delivery

    sessions = three_sessions(make_session)

    def insert(request):
        sent_id = json.loads(request.body)["row_data"]["id"]
        return 201, {}, json.dumps(row_answer(f"row-{sent_id}", {}))

    wire.add_callback("POST", ROWS, callback=insert)

    def lost(sent):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(delivery, "_settle", lost)
    with pytest.raises(DatabaseError):
        drain(zdb, now=NOW)

    # Nothing stays leased or claimed, and each stored row keeps its row_id: the next run
    # replaces the rows instead of inserting them twice.
    assert nothing_held()
    assert OutboxEntry.objects.count() == 3
    mapped = RowMapping.objects.values_list("object_id", "row_id")
    assert set(mapped) == {(s.pk, f"row-{s.pk}") for s in sessions}
    monkeypatch.undo()
    wire.put(re.compile(re.escape(f"{ROWS}/row-") + ".*"), json=row_answer("row", {}))
    assert drain(zdb, now=NOW).delivered == 3
    assert [c.request.method for c in wire.calls] == ["POST"] * 3 + ["PUT"] * 3


@pytest.mark.django_db(transaction=True)
def test_a_database_error_loading_a_batch_releases_every_row(
    make_session, zdb, no_calls, monkeypatch
):
    from sessions_app.storage import delivery

    three_sessions(make_session)

    def lost(claims):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(delivery, "_load_batch", lost)
    with pytest.raises(DatabaseError):
        drain(zdb, now=NOW)

    assert nothing_held()
    assert set(OutboxEntry.objects.values_list("attempts", flat=True)) == {0}


def test_push_takes_entries_that_are_backing_off(session, zdb, wire):
    wire.post(ROWS, status=503)
    drain(zdb, now=NOW)
    wire.replace("POST", ROWS, status=201, json=row_answer("row-1", {}))
    assert drain(zdb, now=NOW).rows == 0
    assert drain(zdb, now=NOW, include_waiting=True).delivered == 1


def test_deliver_one_finds_no_work_twice_in_a_row(zdb, no_calls):
    assert deliver_one(zdb, now=NOW).kind == IDLE
    assert deliver_one(zdb, now=NOW).kind == IDLE


def test_the_task_drains_and_summarises(session, wire):
    wire.post(ROWS, status=201, json=row_answer("row-1", {}))
    assert drain_outbox() == "delivered 1, retrying 0, dead 0"


def test_the_task_says_when_zerodb_is_off(settings, no_calls):
    settings.ZERODB_API_KEY = ""
    assert drain_outbox() == "ZeroDB is off"


def test_a_dead_letter_result_is_listed_in_the_report(session, zdb, wire):
    wire.post(ROWS, status=400, json={"detail": "bad field"})
    outcome = deliver_one(zdb, now=NOW)
    assert outcome.kind == DEAD
    assert "bad field" in outcome.error
