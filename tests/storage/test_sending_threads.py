"""A drain keeps a few rows' calls in flight at once: the guarantees still hold.

The calls run on sender threads (``delivery.Senders``); the barrier in a callback below
holds calls until as many are in flight as a test expects, so a drain that sent one
call at a time would break it (and the test) instead of passing by luck.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection

from sessions_app.storage import delivery
from sessions_app.storage.delivery import drain
from sessions_app.storage.fieldmap import TABLES
from sessions_app.storage.models import OutboxEntry, OutboxState, RowMapping
from tests.conftest import NOW
from tests.storage.support import ROOT, row_answer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("zerodb_on", "frozen")]

ROWS = f"{ROOT}/tables/training_sessions/rows"
QUERY = f"{ROOT}/tables/training_sessions/query"
THREADS = 4
WAIT = 10  # seconds a barrier waits before the test fails (never reached when it passes)


class InFlight:
    """Counts the calls in flight; holds the first ``width`` of them until all are."""

    def __init__(self, width: int):
        self.width = width
        self.barrier = threading.Barrier(width, timeout=WAIT)
        self.lock = threading.Lock()
        self.arrived = 0
        self.now = 0
        self.peak = 0

    def __enter__(self):
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            held = self.arrived < self.width
            self.arrived += 1
        if held:
            self.barrier.wait()
        return self

    def __exit__(self, *exc_info):
        with self.lock:
            self.now -= 1


def sent_id(request) -> str:
    return json.loads(request.body)["row_data"]["id"]


def answer(request, row_id: str):
    return 201, {}, json.dumps(row_answer(row_id, json.loads(request.body)["row_data"]))


@pytest.fixture
def sessions(make_session):
    """Nine rows due in order: the first goes alone, then four at a time."""
    return [make_session(start_time=NOW + timedelta(days=day)) for day in range(1, 10)]


def first_alone_then(in_flight: InFlight, first, respond):
    """A callback: the first row's call answers at once, every other waits for company."""

    def callback(request):
        if sent_id(request) == str(first.pk):
            return answer(request, f"row-{sent_id(request)}")
        with in_flight:
            return respond(request)

    return callback


def test_a_drain_keeps_up_to_its_threads_rows_in_flight_at_once(sessions, zdb, wire):
    in_flight = InFlight(THREADS)
    respond = first_alone_then(in_flight, sessions[0], lambda r: answer(r, f"row-{sent_id(r)}"))
    wire.add_callback("POST", ROWS, callback=respond)

    report = drain(zdb, now=NOW, threads=THREADS)

    assert report.delivered == 9
    assert in_flight.peak == THREADS  # four at once, never more
    sent = sorted(sent_id(call.request) for call in wire.calls)
    assert sent == sorted(str(s.pk) for s in sessions)  # each row once
    mapped = dict(RowMapping.objects.values_list("object_id", "row_id"))
    assert mapped == {s.pk: f"row-{s.pk}" for s in sessions}
    assert not OutboxEntry.objects.exists()


def test_a_batch_sends_one_row_alone_until_one_gets_through(sessions, zdb, wire):
    wire.post(ROWS, status=503)
    report = drain(zdb, now=NOW, threads=THREADS)
    assert (report.retrying, report.delivered) == (1, 0)
    assert len(wire.calls) == 1  # ZeroDB down costs the run one call, not one per thread
    assert OutboxEntry.objects.filter(attempts=0, claimed_by=None).count() == 8


def failure_handled(monkeypatch, name: str = "_failed") -> threading.Event:
    """Set once the drain has handled a row's failure (``delivery.<name>`` was called)."""
    handled = threading.Event()
    original = getattr(delivery, name)

    def handle(*args, **kwargs):
        try:
            return original(*args, **kwargs)
        finally:
            handled.set()

    monkeypatch.setattr(delivery, name, handle)
    return handled


def test_a_transient_failure_in_flight_stops_the_sending_and_the_rest_waits(
    sessions, zdb, wire, monkeypatch
):
    failing = sessions[2]
    in_flight = InFlight(THREADS)
    handled = failure_handled(monkeypatch)

    def respond(request):
        if sent_id(request) == str(failing.pk):
            return 503, {"Retry-After": "30"}, json.dumps({"detail": "busy"})
        # Rows 2, 4 and 5 answer once the failure is known: no row was started after it.
        assert handled.wait(WAIT)
        return answer(request, f"row-{sent_id(request)}")

    wire.add_callback("POST", ROWS, callback=first_alone_then(in_flight, sessions[0], respond))
    report = drain(zdb, now=NOW, threads=THREADS)

    # The first row, then rows 2-5 together: the other three in flight got through and
    # are settled; rows 6-9 were never sent.
    assert (report.delivered, report.retrying) == (4, 1)
    assert "503" in report.stopped_by
    assert len(wire.calls) == 5
    delivered = {s.pk for s in sessions[:5]} - {failing.pk}
    assert set(RowMapping.objects.exclude(row_id=None).values_list("object_id", flat=True)) == (
        delivered
    )
    entry = OutboxEntry.objects.get(object_id=failing.pk)
    assert (entry.attempts, entry.next_attempt_at) == (1, NOW + timedelta(seconds=30))
    unsent = OutboxEntry.objects.exclude(object_id=failing.pk)
    assert {e.object_id for e in unsent} == {s.pk for s in sessions[5:]}
    # Released as they were, and held back by the Retry-After like every row.
    assert {(e.attempts, e.claimed_by, e.next_attempt_at) for e in unsent} == {
        (0, None, NOW + timedelta(seconds=30))
    }
    assert not RowMapping.objects.exclude(lease_token=None).exists()


def test_a_rejected_row_in_flight_is_buried_and_the_others_go_on(sessions, zdb, wire):
    bad = sessions[3]
    in_flight = InFlight(THREADS)

    def respond(request):
        if sent_id(request) == str(bad.pk):
            return 422, {}, json.dumps({"detail": "bad row"})
        return answer(request, f"row-{sent_id(request)}")

    wire.add_callback("POST", ROWS, callback=first_alone_then(in_flight, sessions[0], respond))
    report = drain(zdb, now=NOW, threads=THREADS)

    assert (report.delivered, report.dead, report.stopped_by) == (8, 1, "")
    dead = OutboxEntry.objects.get()
    assert (dead.object_id, dead.state) == (bad.pk, OutboxState.DEAD)
    assert not RowMapping.objects.get(object_id=bad.pk).needs_lookup  # nothing was stored


def test_a_rows_own_calls_go_out_in_order_while_rows_overlap(make_session, zdb, wire):
    # Rows whose earlier insert got no answer: each is looked up, its duplicate deleted
    # and the row it keeps replaced, in that order, while the other rows' calls overlap.
    rows = [make_session(start_time=NOW + timedelta(days=day)) for day in range(1, 6)]
    for session in rows:
        RowMapping.objects.create(
            table="training_sessions", object_id=session.pk, row_id=f"keep-{session.pk}",
            needs_lookup=True,
        )  # fmt: skip
    spec = TABLES["training_sessions"]
    documents = {str(s.pk): spec.to_document(spec.load(s.pk)) for s in rows}
    in_flight = InFlight(THREADS)
    log: list[tuple[str, str]] = []  # (row, call) in the order the calls arrived

    def query(request):
        wanted = json.loads(request.body)["filter"]["id"]
        log.append((wanted, "query"))
        found = [
            row_answer(f"keep-{wanted}", {"id": wanted}),
            row_answer(f"dup-{wanted}", {"id": wanted}),
        ]
        if wanted == str(rows[0].pk):
            return 200, {}, json.dumps({"data": found})
        with in_flight:  # the four other rows' lookups are in flight together
            return 200, {}, json.dumps({"data": found})

    def delete(request):
        log.append((request.url.rsplit("/dup-", 1)[1], "delete"))
        return 204, {}, ""

    def replace(request):
        row = request.url.rsplit("/keep-", 1)[1]
        log.append((row, "replace"))
        sent = json.loads(request.body)["row_data"]
        return 200, {}, json.dumps(row_answer(f"keep-{row}", sent))

    wire.add_callback("POST", QUERY, callback=query)
    wire.add_callback("DELETE", re.compile(re.escape(f"{ROWS}/dup-") + ".*"), callback=delete)
    wire.add_callback("PUT", re.compile(re.escape(f"{ROWS}/keep-") + ".*"), callback=replace)

    report = drain(zdb, now=NOW, threads=THREADS)

    assert report.delivered == 5
    assert in_flight.peak == THREADS
    for session in rows:
        calls = [call for row, call in log if row == str(session.pk)]
        assert calls == ["query", "delete", "replace"]
    replaced = {call.request.url.rsplit("/keep-", 1)[1]: json.loads(call.request.body)
                for call in wire.calls if call.request.method == "PUT"}  # fmt: skip
    assert replaced == {row: {"row_data": doc} for row, doc in documents.items()}
    mapped = RowMapping.objects.values_list("object_id", "row_id", "needs_lookup")
    assert set(mapped) == {(s.pk, f"keep-{s.pk}", False) for s in rows}


# A sender thread never uses the database: the callbacks below read and write it as
# another process would, so the test commits (transaction=True).


@pytest.mark.django_db(transaction=True)
def test_a_row_gone_from_zerodb_is_marked_for_lookup_before_it_is_inserted_again(
    make_session, zdb, wire
):
    rows = [make_session(start_time=NOW + timedelta(days=day)) for day in range(1, 6)]
    for session in rows:
        RowMapping.objects.create(
            table="training_sessions", object_id=session.pk, row_id=f"old-{session.pk}"
        )
    gone = rows[2]
    in_flight = InFlight(THREADS)
    marked_at_insert = []

    def replace(request):
        row = request.url.rsplit("/old-", 1)[1]
        if row == str(rows[0].pk):
            return 200, {}, json.dumps(row_answer(f"old-{row}", {}))
        with in_flight:
            if row == str(gone.pk):
                return 404, {}, json.dumps({"detail": "Row not found"})
            return 200, {}, json.dumps(row_answer(f"old-{row}", {}))

    def insert(request):
        try:
            mapping = RowMapping.objects.get(object_id=sent_id(request))
        finally:
            connection.close()
        marked_at_insert.append(mapping.needs_lookup)
        return answer(request, "new-row")

    wire.add_callback("PUT", re.compile(re.escape(f"{ROWS}/old-") + ".*"), callback=replace)
    wire.add_callback("POST", ROWS, callback=insert)

    report = drain(zdb, now=NOW, threads=THREADS)

    assert report.delivered == 5
    assert marked_at_insert == [True]  # had its answer been lost, a lookup would come first
    mapping = RowMapping.objects.get(object_id=gone.pk)
    assert (mapping.row_id, mapping.needs_lookup, mapping.lease_token) == ("new-row", False, None)
    assert not OutboxEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_database_error_mid_batch_releases_every_row_once_its_calls_are_over(
    sessions, zdb, wire, monkeypatch
):
    bad = sessions[3]
    in_flight = InFlight(THREADS)
    handled = threading.Event()

    def respond(request):
        if sent_id(request) == str(bad.pk):
            return 422, {}, json.dumps({"detail": "bad row"})
        # Rows 2, 3 and 5 are still in flight when the database fails.
        assert handled.wait(WAIT)
        return answer(request, f"row-{sent_id(request)}")

    def broken_finish(claim, **kwargs):
        handled.set()
        raise DatabaseError("connection lost")

    wire.add_callback("POST", ROWS, callback=first_alone_then(in_flight, sessions[0], respond))
    monkeypatch.setattr(delivery, "_finish", broken_finish)

    with pytest.raises(DatabaseError):
        drain(zdb, now=NOW, threads=THREADS)

    # Nothing is left leased or claimed, and the rows ZeroDB stored keep their row_id:
    # the next run replaces them instead of inserting them twice.
    assert not RowMapping.objects.exclude(lease_token=None).exists()
    assert not OutboxEntry.objects.exclude(claimed_by=None).exists()
    stored = {sent_id(c.request) for c in wire.calls if c.response.status_code == 201}
    assert len(stored) == 4  # the first row, then rows 2, 3 and 5 (in flight at the error)
    mapped = RowMapping.objects.exclude(row_id=None).values_list("object_id", "row_id")
    assert {(str(pk), row_id) for pk, row_id in mapped} == {(pk, f"row-{pk}") for pk in stored}

    monkeypatch.undo()
    wire.add_callback("PUT", re.compile(re.escape(f"{ROWS}/row-") + ".*"), callback=lambda r: (
        200, {}, json.dumps(row_answer(r.url.rsplit("/", 1)[1], {}))))  # fmt: skip
    calls_before = len(wire.calls)
    report = drain(zdb, now=NOW, threads=THREADS)
    later = wire.calls[calls_before:]
    inserted = [sent_id(c.request) for c in later if c.request.method == "POST"]
    assert not set(inserted) & stored  # no row inserted twice
    assert (report.delivered, report.dead) == (8, 1)
