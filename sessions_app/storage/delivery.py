"""The worker side of the outbox: bring rows of ZeroDB up to date, a batch at a time.

``drain`` (the task and ``manage.py zerodb push``) works in batches (``deliver_batch``);
``deliver_one`` does one row the same way (its claim and settling in transactions of their
own, ``needs_lookup`` saved just before an insert). For each row:

1. **Lease and claim** (one transaction for the whole batch): take the rows'
   ``RowMapping`` leases (free, or expired; rows another worker is leasing right now are
   skipped) and mark their pending entries as claimed (entries a change is being folded
   into right now are skipped: they stay pending). Only the lease holder talks to ZeroDB
   about a row, so two workers never both insert it and a row's changes go out in order.
   The claim commits *before* the rows are read (one query per table): a change committed
   later gets a new entry and a later delivery. The maps of rows that may be inserted
   are marked ``needs_lookup`` in the same transaction (a row's first map is made leased
   and marked): if an insert's answer never arrives, the next attempt — after
   ``LATE_STORE_GRACE`` — looks the row up by our ``id`` and replaces what it finds
   instead of inserting a duplicate.
2. **Send the current state**, coalescing every claimed change of a row into one call. A
   row that still exists is replaced when its ``row_id`` is known (a 404 means it is
   gone: insert it again) and inserted otherwise; a row that no longer exists is deleted
   in ZeroDB. ``drain`` keeps up to ``ZERODB_SEND_THREADS`` rows in flight at once
   (``Senders``; a batch's first row goes alone, so a ZeroDB that is down costs one call):
   rows are independent, a row's own calls go out in order on one thread, and only the
   calls run there; reading rows and settling stay on the worker's thread.
3. **Settle**: the rows ZeroDB now holds together, at the end of the batch (one
   transaction): their maps saved with the ``row_id`` (one UPDATE that also tells which
   leases are still ours), their claimed entries deleted. A
   failure is settled at once: a transient failure (or refused credentials) reschedules
   the row's entries with capped exponential back-off honouring Retry-After and ends the
   drain run (rows in flight are waited for and settled, the batch's rows not sent yet are
   released as they were); a rejection moves them to the dead letters with the error and
   the batch goes on. Leases are released
   either way; a row whose lease was lost meanwhile is left alone.

Nothing here runs in a web request. It needs autocommit (no surrounding transaction), so
that the claim is committed before ZeroDB is called.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Exists, F, Max, OuterRef, Q
from django.utils import timezone

from sessions_app.storage import outbox
from sessions_app.storage.client import (
    InvalidCredentials,
    NotFound,
    Rejected,
    Row,
    Unavailable,
    ZeroDBClient,
)
from sessions_app.storage.fieldmap import TABLES, TableSpec
from sessions_app.storage.models import OutboxEntry, OutboxState, RowMapping
from wwmaa.values_table import values_table

logger = logging.getLogger(__name__)

# Longer than any one row's delivery can take (a few calls, each timeout × retries); a
# worker killed mid-row holds the row this long at most.
LEASE = timedelta(minutes=10)
LOOKUP_PAGE = 100
# Rows leased, loaded and settled together by ``drain``.
BATCH = 200
# After an insert that got no answer, wait at least this long before looking the row up:
# a server that was still working on it when we gave up has stored it by then.
LATE_STORE_GRACE = timedelta(seconds=60)

IDLE = "idle"  # nothing due
DELIVERED = "delivered"
RETRY = "retry"  # transient failure: rescheduled
DEAD = "dead"  # rejected: dead letter
BUSY = "busy"  # another worker had the row


@dataclass(frozen=True)
class Outcome:
    """What ``deliver_one`` did. ``stop`` asks the loop to end this run."""

    kind: str
    table: str = ""
    object_id: Any = None
    entries: int = 0
    error: str = ""
    stop: bool = False

    @property
    def found_work(self) -> bool:
        return self.kind != IDLE


@dataclass
class DrainReport:
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    entries: int = 0
    stopped_by: str = ""
    off: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.delivered + self.retrying + self.dead

    def add(self, outcome: Outcome) -> None:
        if outcome.kind == DELIVERED:
            self.delivered += 1
            self.entries += outcome.entries
        elif outcome.kind == RETRY:
            self.retrying += 1
        elif outcome.kind == DEAD:
            self.dead += 1
        if outcome.error:
            self.errors.append(outcome.error)
        if outcome.stop:
            self.stopped_by = outcome.error


@dataclass
class _Claim:
    """The row a worker holds: its map (as it will be saved) and how many entries it covers.

    The covered entries are those with ``claimed_by == token``.
    """

    spec: TableSpec
    mapping: RowMapping
    entries: int
    token: str
    now: datetime
    # The map was saved ``needs_lookup`` before the batch's calls (``_premark``): an insert
    # may go out without saving it again.
    marked: bool = False


class _LeaseLost(Exception):
    """Another worker took the row over (our lease expired); stop touching it."""


class _MarkFirst(Exception):
    """A sender thread must insert a row whose ``needs_lookup`` mark is not saved yet (its
    known ``row_id`` turned out to be gone): the caller's thread saves it and inserts."""


class _InsertUnanswered(Exception):
    """An insert failed in a way that may still have stored the row (no answer, 5xx)."""

    def __init__(self, cause: Unavailable):
        super().__init__(str(cause))
        self.cause = cause


def drain(
    client: ZeroDBClient | None = None,
    *,
    now: datetime | None = None,
    max_rows: int | None = None,
    seconds: float | None = None,
    include_waiting: bool = False,
    progress: Callable[[DrainReport], None] | None = None,
    threads: int | None = None,
) -> DrainReport:
    """Deliver due rows until none is left, a transient failure, ``max_rows`` or ``seconds``.

    ``include_waiting`` also takes entries that are backing off (``zerodb push``).
    ``threads``: how many rows' calls may be in flight at once (default
    ``ZERODB_SEND_THREADS``).
    """
    report = DrainReport()
    if not outbox.is_enabled():
        report.off = True
        return report
    own_client = client is None
    client = client or ZeroDBClient.from_settings()
    senders = Senders(client, send_threads() if threads is None else threads)
    started = time.monotonic()

    busy_batches = 0

    def out_of_time() -> bool:
        return seconds is not None and time.monotonic() - started >= seconds

    try:
        while True:
            if max_rows is not None and report.rows >= max_rows:
                break
            if out_of_time():
                break
            size = BATCH if max_rows is None else min(BATCH, max_rows - report.rows)
            outcomes = deliver_batch(
                client,
                now=now or timezone.now(),
                include_waiting=include_waiting,
                size=size,
                out_of_time=out_of_time,
                senders=senders,
            )
            if outcomes is None:
                break
            for outcome in outcomes:
                report.add(outcome)
                if progress and outcome.kind != BUSY:
                    progress(report)
            if any(outcome.stop for outcome in outcomes):
                break
            if not outcomes:
                # Other workers were leasing the same rows: look again, a few times (rows
                # whose entries are being folded into right now would come back at once).
                busy_batches += 1
                if busy_batches >= 3:
                    break
    finally:
        senders.close()
        if own_client:
            client.close()
    return report


def deliver_one(
    client: ZeroDBClient, *, now: datetime | None = None, include_waiting: bool = False
) -> Outcome:
    """Bring the row of the oldest due entry up to date in ZeroDB. ``IDLE`` if none is due.

    ``include_waiting`` also takes entries that are backing off.
    """
    now = now or timezone.now()
    candidate = _next_due_row(now, include_waiting)
    if candidate is None:
        return Outcome(IDLE)
    table, object_id = candidate
    claim = _lease_and_claim(TABLES[table], object_id, uuid.uuid4().hex, now)
    if claim is None:
        return Outcome(BUSY, table, object_id)
    try:
        return _deliver(client, claim)
    except BaseException:
        # A bug or a database error mid-way: free the row at once rather than in 10 min.
        with contextlib.suppress(Exception):
            _release(claim)
        raise


def deliver_batch(
    client: ZeroDBClient,
    *,
    now: datetime | None = None,
    include_waiting: bool = False,
    size: int = BATCH,
    out_of_time: Callable[[], bool] | None = None,
    senders: Senders | None = None,
) -> list[Outcome] | None:
    """Bring up to ``size`` due rows up to date, oldest first; None if none is due.

    The rows are leased and their entries claimed together (one transaction), loaded
    together and turned into documents together, sent one row after the other (or a few
    rows at once by ``senders``), and the successes settled together (one transaction).
    A failure is settled as soon as it is known, as ``deliver_one`` does; one that ends
    the run (or ``out_of_time``) stops the sending: rows in flight are waited for, the
    rows not sent yet are released. An empty list: other workers had them.
    """
    now = now or timezone.now()
    rows = _next_due_rows(now, include_waiting, size)
    if not rows:
        return None
    batch = _Batch(_lease_and_claim_batch(rows, uuid.uuid4().hex, now), out_of_time)
    try:
        batch.prepare()
        if senders is None or senders.threads == 1:
            batch.send_in_turn(client)
        else:
            batch.send_overlapping(client, senders)
        batch.settle()
    except BaseException:
        # A bug or a database error mid-way: free the rows at once rather than in 10 min.
        with contextlib.suppress(Exception):
            batch.release_unsettled()
        raise
    batch.release_unsettled()  # the rows not sent
    return batch.outcomes()


@dataclass
class _Ready:
    """A claimed row ready to go: its document (None: the row is gone, delete it), or the
    error that kept the document from being built (settled when the row's turn comes)."""

    claim: _Claim
    doc: dict[str, Any] | None
    error: Exception | None = None

    @classmethod
    def of(cls, claim: _Claim, obj: Any) -> _Ready:
        try:
            return cls(claim, _document(claim, obj))
        except Exception as exc:
            return cls(claim, None, exc)


class _Batch:
    """One batch of claimed rows on their way: waiting, in flight, sent or settled.

    The documents are all built before the first call, on the worker's thread (a model
    instance is read on one thread), so that the calls, nearly all of a batch's time,
    follow one another with little else between them (BENCHMARKS.md, P6).
    """

    def __init__(self, claims: list[_Claim], out_of_time: Callable[[], bool] | None):
        self.claims = claims
        self.leased_at = time.monotonic()
        self.out_of_time = out_of_time
        self.waiting: deque[_Ready] = deque()
        self.flying: dict[Future, _Ready] = {}
        self.sent: list[_Claim] = []
        self.results: dict[int, Outcome] = {}
        self.stop = False

    def prepare(self) -> None:
        """Load the rows as they are now (one query per table) and build their documents."""
        current = _load_batch(self.claims) if self.claims else {}
        self.waiting.extend(
            _Ready.of(claim, current.get(_key(claim.mapping))) for claim in self.claims
        )

    def may_start(self) -> bool:
        """Whether the next row's calls may start. The first row always goes; after it,
        not once the run is to end, out of time, or with half the lease gone (what was
        sent is settled well before the leases run out)."""
        if self.stop:
            return False
        if self.results or self.sent or self.flying:
            late = self.out_of_time is not None and self.out_of_time()
            self.stop = late or time.monotonic() - self.leased_at > LEASE.total_seconds() / 2
        return not self.stop

    def send_in_turn(self, client: ZeroDBClient) -> None:
        """One row's calls after the other, on this thread."""
        while self.waiting and self.may_start():
            ready = self.waiting[0]
            failed = (
                _failed(client, ready.claim, ready.error)
                if ready.error is not None
                else _send_document(client, ready.claim, ready.doc)
            )
            self.waiting.popleft()  # only now: a database error above releases the row
            self.answered(ready, failed)

    def send_overlapping(self, client: ZeroDBClient, senders: Senders) -> None:
        """Up to ``senders.threads`` rows' calls at once, settled in the batch's order.

        One row alone until a row got through: a ZeroDB that is down or turning us away
        costs a run one call, not one per thread.
        """
        order = {id(claim): index for index, claim in enumerate(self.claims)}
        while self.waiting or self.flying:
            width = senders.threads if self.sent else 1
            while self.waiting and len(self.flying) < width and self.may_start():
                ready = self.waiting.popleft()
                self.flying[senders.start(ready)] = ready
            if not self.flying:
                break
            done, _ = futures.wait(self.flying, return_when=futures.FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: order[id(self.flying[f].claim)]):
                ready = self.flying[future]
                failed = _answered(client, ready, future)
                del self.flying[future]  # only now: a database error above releases the row
                self.answered(ready, failed)

    def answered(self, ready: _Ready, failed: Outcome | None) -> None:
        if failed is None:
            self.sent.append(ready.claim)
        else:
            self.results[id(ready.claim)] = failed
            self.stop = self.stop or failed.stop

    def settle(self) -> None:
        self.results.update(_settle(self.sent))

    def release_unsettled(self) -> None:
        """Give back every row without an outcome yet (not sent, in flight, or sent but not
        settled), those in flight once their calls are over (until then they are ours)."""
        futures.wait(self.flying)
        _release_batch([claim for claim in self.claims if id(claim) not in self.results])

    def outcomes(self) -> list[Outcome]:
        return [self.results[id(claim)] for claim in self.claims if id(claim) in self.results]


class Senders:
    """How many rows' calls may be in flight at once, and the threads that make them.

    With one (the default) the batch makes its calls itself, in turn
    (``_Batch.send_in_turn``); with more, they are made here, a few at once.

    Rows are independent of each other (each call carries its row's whole current state),
    so the calls of different rows may overlap; a row's own calls are made one after the
    other, on one thread, by the worker that holds its lease. Sender threads only talk
    HTTP, each with a client (an HTTP session) of its own; everything that touches the
    database stays on the caller's thread. ``close`` it when done.
    """

    def __init__(self, client: ZeroDBClient, threads: int = 1):
        self.threads = max(1, threads)
        self._pool: ThreadPoolExecutor | None = None
        self._copies: list[ZeroDBClient] = []
        if self.threads > 1:
            self._copies = [client.copy() for _ in range(self.threads)]
            free: queue.SimpleQueue[ZeroDBClient] = queue.SimpleQueue()
            for copy in self._copies:
                free.put(copy)
            self._local = threading.local()
            self._pool = ThreadPoolExecutor(
                self.threads,
                thread_name_prefix="zerodb-send",
                initializer=lambda: setattr(self._local, "client", free.get()),
            )

    def start(self, ready: _Ready) -> Future:
        """Start the row's calls on a sender thread; the future says how they went (an
        exception: not settled yet, see ``_answered``)."""
        if self._pool is None:
            raise RuntimeError("one sender thread: the batch sends in turn (send_in_turn)")
        if ready.error is not None:
            done: Future = Future()
            done.set_exception(ready.error)
            return done
        return self._pool.submit(self._calls_on_thread, ready.claim, ready.doc)

    def _calls_on_thread(self, claim: _Claim, doc: dict[str, Any] | None) -> None:
        _calls(self._local.client, claim, doc, may_save=False)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        for copy in self._copies:
            copy.close()


def _answered(client: ZeroDBClient, ready: _Ready, future: Future) -> Outcome | None:
    """Settle a row's finished calls if they failed (``_send_document``'s answer)."""
    exc = future.exception()
    if exc is None:
        return None
    if isinstance(exc, _MarkFirst):
        # Here, where the mark can be saved first.
        return _send_document(client, ready.claim, ready.doc)
    if not isinstance(exc, Exception):
        raise exc  # an interrupt on a sender thread: stop like one on this thread
    return _failed(client, ready.claim, exc)


def _key(mapping: RowMapping) -> tuple[str, Any]:
    return (mapping.table, mapping.object_id)


def _rows_q(keys: Iterable[tuple[str, Any]]) -> Q:
    """Matches the rows ``(table, object_id)`` of ``keys`` (one ``IN`` per table)."""
    by_table: dict[str, list[Any]] = defaultdict(list)
    for table, object_id in keys:
        by_table[table].append(object_id)
    q = Q(pk__in=[])
    for table, ids in by_table.items():
        q |= Q(table=table, object_id__any_of=ids)
    return q


def _next_due_rows(now: datetime, include_waiting: bool, size: int) -> list[tuple[str, Any]]:
    leased = RowMapping.objects.filter(
        table=OuterRef("table"), object_id=OuterRef("object_id"), lease_until__gt=now
    )
    due = OutboxEntry.objects.filter(state=OutboxState.PENDING).filter(~Exists(leased))
    if not include_waiting:
        due = due.filter(next_attempt_at__lte=now)
    entries = due.order_by("next_attempt_at", "id").values_list("table", "object_id")
    rows: dict[tuple[str, Any], None] = {}  # an ordered set: a row may have two entries
    for key in entries[: 2 * size]:
        rows.setdefault(key, None)
        if len(rows) >= size:
            break
    return list(rows)


def _lease_and_claim_batch(rows: list[tuple[str, Any]], token: str, now: datetime) -> list[_Claim]:
    """Lease the free rows of ``rows`` and claim their pending entries, in one transaction.

    Rows another worker holds (or is leasing right now) are skipped, and so are entries a
    change is being folded into right now: they stay pending for a later delivery.
    """
    free = Q(lease_until__isnull=True) | Q(lease_until__lte=now)
    lease = {"lease_token": token, "lease_until": now + LEASE}
    with transaction.atomic():
        known = set(RowMapping.objects.filter(_rows_q(rows)).values_list("table", "object_id"))
        missing = sorted((k for k in rows if k not in known), key=lambda k: (k[0], str(k[1])))
        # The rows' first delivery: their maps are made leased to us and marked
        # ``needs_lookup`` (an insert will go out), saving two writes a row; a map another
        # worker makes first wins, and its row is then leased like any other.
        mappings = _make_maps(missing, token, lease["lease_until"]) if missing else {}
        made = set(mappings)
        existing = [key for key in rows if key not in made]
        if existing:
            # Locked until we commit (PostgreSQL; SQLite's IMMEDIATE transactions take
            # the whole database): the conditional UPDATE below wins every one of them.
            locked = {
                _key(m): m
                for m in RowMapping.objects.filter(_rows_q(existing))
                .filter(free)
                .select_for_update(skip_locked=True)
                .order_by("pk")
            }
            others = [m.pk for m in locked.values()]
            won = (
                RowMapping.objects.filter(free, pk__any_of=others).update(**lease) if others else 0
            )
            if won != len(others):
                # A database without those locks: keep the rows we did lease.
                leased = RowMapping.objects.filter(pk__any_of=others, lease_token=token)
                ours = set(leased.values_list("pk", flat=True))
                locked = {k: m for k, m in locked.items() if m.pk in ours}
            for mapping in locked.values():
                mapping.lease_token, mapping.lease_until = token, lease["lease_until"]
            mappings.update(locked)
        if not mappings:
            return []
        # Every pending entry of the rows, also those a dead worker had claimed: the rows
        # are ours now.
        claimable = OutboxEntry.objects.filter(_rows_q(mappings), state=OutboxState.PENDING)
        entries = list(
            claimable.select_for_update(skip_locked=True).values_list("pk", "table", "object_id")
        )
        OutboxEntry.objects.filter(
            pk__any_of=[pk for pk, _, _ in entries], state=OutboxState.PENDING
        ).update(claimed_by=token)
        counts: dict[tuple[str, Any], int] = defaultdict(int)
        for _, table, object_id in entries:
            counts[(table, object_id)] += 1
        idle = [key for key in mappings if not counts[key]]
        if idle:  # delivered by another worker between our look and our lease
            unused = [_Claim(TABLES[k[0]], mappings[k], 0, token, now) for k in idle]
            _save_maps(unused, synced=False)  # the flag of a map made here goes back too
        claims = [
            _Claim(TABLES[key[0]], mappings[key], counts[key], token, now, marked=key in made)
            for key in rows
            if key in mappings and counts[key]
        ]
        _premark(claims)
    return claims


def _make_maps(
    keys: list[tuple[str, Any]], token: str, until: datetime
) -> dict[tuple[str, Any], RowMapping]:
    """Make the maps of ``keys``, leased to ``token`` and marked ``needs_lookup``: one INSERT.

    A map that exists already (another worker made it first) is skipped; the ones made
    here are returned (by key) without reading them back, and stay invisible to other
    workers until the transaction commits. In memory their ``needs_lookup`` is False, as
    it was before the mark (see ``_premark``). Hand-written SQL: the ORM's ``bulk_create``
    cannot say which rows it skipped (``ON CONFLICT … RETURNING``: PostgreSQL, and SQLite
    since 3.35). The keys come as one table (``values_table``).
    """
    connection = connections[RowMapping.objects.db]
    quote = connection.ops.quote_name
    opts = RowMapping._meta
    names = ("table", "object_id", "needs_lookup", "lease_token", "lease_until")
    fields = [opts.get_field(name) for name in names]
    marks = [
        f.get_db_prep_save(v, connection)
        for f, v in zip(fields[2:], (True, token, until), strict=True)
    ]
    new, keys_params = values_table(connection, fields[:2], keys, "new", ("t", "o"))
    params = marks + keys_params
    columns = ", ".join(quote(f.column) for f in fields)
    table_column, id_column = (quote(f.column) for f in fields[:2])
    # Only quoted names from the model's meta are formatted in; every value is a parameter.
    # ``WHERE true``: SQLite reads an upsert's ``ON`` after ``FROM`` as a join's without it.
    sql = (
        f"INSERT INTO {quote(opts.db_table)} ({columns}) "  # noqa: S608
        f"SELECT new.t, new.o, %s, %s, %s FROM {new} WHERE true "
        f"ON CONFLICT ({table_column}, {id_column}) DO NOTHING "
        f"RETURNING {quote(opts.pk.column)}, {table_column}, {id_column}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        made = cursor.fetchall()
    maps = {}
    for pk, table, object_id in made:
        object_id = fields[1].to_python(object_id)
        values = {
            "id": pk,
            "table": table,
            "object_id": object_id,
            "needs_lookup": False,
            "lease_token": token,
            "lease_until": until,
        }
        # As if read back: an instance of a saved row (``from_db``), no query.
        mapping = RowMapping.from_db(
            connection.alias, _MAP_COLUMNS, [values.get(name) for name in _MAP_COLUMNS]
        )
        maps[(table, object_id)] = mapping
    return maps


def _load_batch(claims: list[_Claim]) -> dict[tuple[str, Any], Any]:
    """The claimed rows as they are now, by (table, id); a deleted row is missing."""
    by_table: dict[str, list[Any]] = defaultdict(list)
    for claim in claims:
        by_table[claim.spec.name].append(claim.mapping.object_id)
    return {
        (table, obj.pk): obj for table, ids in by_table.items() for obj in TABLES[table].rows(ids)
    }


def _premark(claims: list[_Claim]) -> None:
    """Save ``needs_lookup`` on the maps of the rows that may be inserted, all at once.

    Committed with the claim, before any insert goes out: an answer lost is then looked
    up at the next attempt. In memory the flag stays as it was (``claim.marked`` says it
    is saved), and settling or releasing the row saves it back: a row that was not
    inserted after all (deleted meanwhile, or not sent) gets its flag back then.
    """
    inserts = [
        c
        for c in claims
        if not c.marked and c.mapping.row_id is None and not c.mapping.needs_lookup
    ]
    if not inserts:
        return
    RowMapping.objects.filter(pk__any_of=[c.mapping.pk for c in inserts]).update(needs_lookup=True)
    for claim in inserts:
        claim.marked = True


def _save_maps(claims: list[_Claim], *, synced: bool) -> set[int]:
    """Save the claims' maps as they are in memory and release their leases: one UPDATE.

    Only maps still leased by the claims' token are written; returns their pks (the rows
    whose lease was lost are not among them). Hand-written SQL: the ORM's ``bulk_update``
    spends longer building its ``CASE`` than the database running it, and cannot say
    which rows it changed (``RETURNING``: PostgreSQL, and SQLite since 3.35). The new
    values come as one table (``values_table``: three array parameters on PostgreSQL).
    """
    connection = connections[RowMapping.objects.db]
    quote = connection.ops.quote_name
    opts = RowMapping._meta
    column = {name: quote(opts.get_field(name).column) for name in _MAP_FIELDS}
    pk = quote(opts.pk.column)
    fields = [opts.pk, opts.get_field("row_id"), opts.get_field("needs_lookup")]
    rows = [(c.mapping.pk, c.mapping.row_id, c.mapping.needs_lookup) for c in claims]
    saved_maps, maps_params = values_table(connection, fields, rows, "saved", ("pk", "r", "n"))
    sets = [
        f"{column['row_id']} = saved.r",
        f"{column['needs_lookup']} = saved.n",
        f"{column['lease_token']} = NULL",
        f"{column['lease_until']} = NULL",
    ]
    params: list[Any] = []
    if synced:
        sets.append(f"{column['synced_at']} = %s")
        field = opts.get_field("synced_at")
        params.append(field.get_db_prep_save(claims[0].now, connection))
    params += maps_params
    params.append(claims[0].token)
    table = quote(opts.db_table)
    # Only quoted names from the model's meta are formatted in; every value is a parameter.
    sql = (
        f"UPDATE {table} SET {', '.join(sets)} FROM {saved_maps} "  # noqa: S608
        f"WHERE {table}.{pk} = saved.pk AND {table}.{column['lease_token']} = %s "
        f"RETURNING {table}.{pk}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        saved = {pk for (pk,) in cursor.fetchall()}
    for claim in claims:
        claim.mapping.lease_token, claim.mapping.lease_until = None, None
    return saved


_MAP_FIELDS = ("row_id", "needs_lookup", "synced_at", "lease_token", "lease_until")
_MAP_COLUMNS = [f.attname for f in RowMapping._meta.concrete_fields]


def _settle(sent: list[_Claim]) -> dict[int, Outcome]:
    """Settle the rows ZeroDB now holds, in one transaction (``_finish`` for many).

    Saves their maps, deletes their claimed entries and dead letters, forgets the rows
    deleted everywhere and releases the leases. A row whose lease was lost is left alone.
    """
    if not sent:
        return {}
    token = sent[0].token
    results: dict[int, Outcome] = {}
    with transaction.atomic():
        for claim in sent:
            claim.mapping.synced_at = claim.now
        # The UPDATE takes the maps' row locks and only writes those still leased to us.
        held = _save_maps(sent, synced=True)
        ours = [claim for claim in sent if claim.mapping.pk in held]
        for claim in sent:
            if claim.mapping.pk not in held:
                logger.warning(
                    "ZeroDB %s %s: another worker took the row over",
                    claim.spec.name,
                    claim.mapping.object_id,
                )
                results[id(claim)] = _outcome(claim, BUSY)
        if not ours:
            return results
        # With the rows' dead letters (only a lease holder makes them, and we held the
        # leases): ZeroDB now has the rows' current state.
        OutboxEntry.objects.filter(_rows_q(_key(c.mapping) for c in ours)).filter(
            Q(claimed_by=token) | Q(state=OutboxState.DEAD)
        ).delete()
        gone = [
            c.mapping.pk for c in ours if c.mapping.row_id is None and not c.mapping.needs_lookup
        ]
        if gone:  # deleted everywhere: forget the rows
            RowMapping.objects.filter(pk__any_of=gone, lease_token__isnull=True).delete()
    for claim in ours:
        results[id(claim)] = _outcome(claim, DELIVERED)
    return results


def _release_batch(claims: list[_Claim]) -> None:
    """Give back rows not settled: their maps as they are now, their entries unclaimed."""
    if not claims:
        return
    token = claims[0].token
    with transaction.atomic():
        _save_maps(claims, synced=False)
        OutboxEntry.objects.filter(
            _rows_q(_key(c.mapping) for c in claims), claimed_by=token
        ).update(claimed_by=None)


def _next_due_row(now: datetime, include_waiting: bool) -> tuple[str, Any] | None:
    rows = _next_due_rows(now, include_waiting, 1)
    return rows[0] if rows else None


def _lease_and_claim(spec: TableSpec, object_id: Any, token: str, now: datetime) -> _Claim | None:
    """Lease the row and claim its pending entries, in one transaction; None if busy."""
    row = RowMapping.objects.filter(table=spec.name, object_id=object_id)
    lease = {"lease_token": token, "lease_until": now + LEASE}
    free = row.filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
    with transaction.atomic():
        won = free.update(**lease)
        if not won:
            # The row's first delivery (or another worker holds it): make sure its map
            # exists, whoever creates it, then try once more.
            RowMapping.objects.bulk_create(
                [RowMapping(table=spec.name, object_id=object_id)], ignore_conflicts=True
            )
            if not free.update(**lease):
                return None
        # Every pending entry of the row, also those a dead worker had claimed: the row
        # is ours now.
        entries = OutboxEntry.objects.filter(
            table=spec.name, object_id=object_id, state=OutboxState.PENDING
        ).update(claimed_by=token)
    claim = _Claim(spec, row.get(), entries, token, now)
    if not entries:  # another worker delivered them between our look and our lease
        _release(claim)
        return None
    return claim


def _deliver(client: ZeroDBClient, claim: _Claim) -> Outcome:
    spec, mapping = claim.spec, claim.mapping
    failed = _send(client, claim, spec.load(mapping.object_id))
    if failed is not None:
        return failed
    if not _finish(claim):
        logger.warning(
            "ZeroDB %s %s: another worker took the row over", spec.name, mapping.object_id
        )
        return _outcome(claim, BUSY)
    return _outcome(claim, DELIVERED)


def _outcome(claim: _Claim, kind: str, error: str = "", stop: bool = False) -> Outcome:
    return Outcome(kind, claim.spec.name, claim.mapping.object_id, claim.entries, error, stop)


def _send(client: ZeroDBClient, claim: _Claim, obj: Any) -> Outcome | None:
    """Bring ZeroDB up to date with ``obj`` (None: the row is gone), on this thread.

    None when that worked: the caller settles the claim. A failure is settled here (the
    entries rescheduled or buried, the lease released) and its outcome returned.
    """
    try:
        doc = _document(claim, obj)
    except Exception as exc:
        return _failed(client, claim, exc)
    return _send_document(client, claim, doc)


def _send_document(
    client: ZeroDBClient, claim: _Claim, doc: dict[str, Any] | None
) -> Outcome | None:
    """``_send`` for a document built already (None: delete the row)."""
    try:
        _calls(client, claim, doc)
    except Exception as exc:
        return _failed(client, claim, exc)
    return None


def _document(claim: _Claim, obj: Any) -> dict[str, Any] | None:
    return None if obj is None else claim.spec.to_document(obj)


def _calls(
    client: ZeroDBClient, claim: _Claim, doc: dict[str, Any] | None, *, may_save: bool = True
) -> None:
    """Every call that brings ZeroDB's row up to date with ``doc`` (None: delete it).

    ``may_save=False`` (a sender thread, which never uses the database): an insert that
    needs the ``needs_lookup`` mark saved first raises ``_MarkFirst`` instead.
    """
    if doc is None:
        _delete_remote(client, claim)
    else:
        _upsert(client, claim, doc, may_save=may_save)


def _failed(client: ZeroDBClient, claim: _Claim, exc: Exception) -> Outcome:
    """Settle a row whose calls failed with ``exc``; its outcome (``stop``: end the run)."""
    spec, mapping = claim.spec, claim.mapping
    label = f"{spec.name} {mapping.object_id}"

    def outcome(kind: str, error: str = "", stop: bool = False) -> Outcome:
        return _outcome(claim, kind, error, stop)

    if isinstance(exc, _LeaseLost):
        logger.warning("ZeroDB %s: another worker took the row over", label)
        return outcome(BUSY)
    if isinstance(exc, Rejected):
        _finish(claim, bury=str(exc))
        logger.error("ZeroDB refused %s; moved to the dead letters: %s", label, exc)
        return outcome(DEAD, str(exc))
    if isinstance(exc, InvalidCredentials):
        _finish(claim, retry=f"credentials refused: {exc}")
        logger.error("ZeroDB refused our credentials (check ZERODB_API_KEY): %s", exc)
        return outcome(RETRY, str(exc), stop=True)
    if isinstance(exc, _InsertUnanswered):
        cause = exc.cause
        grace = max(LATE_STORE_GRACE, timedelta(seconds=3 * client.timeout))
        _finish(claim, retry=str(cause), retry_after=cause.retry_after, at_least=grace)
        logger.warning("ZeroDB insert of %s got no answer; will look it up: %s", label, cause)
        return outcome(RETRY, str(cause), stop=True)
    if isinstance(exc, Unavailable):
        _finish(claim, retry=str(exc), retry_after=exc.retry_after)
        logger.warning("ZeroDB unavailable for %s; will retry: %s", label, exc)
        return outcome(RETRY, str(exc), stop=True)
    if isinstance(exc, NotFound):
        # Not a row (those are handled on the way) but the project or the table API.
        _finish(claim, retry=f"not found: {exc}")
        logger.error("ZeroDB %s: %s (check ZERODB_PROJECT_ID and ZERODB_PATH_PREFIX)", label, exc)
        return outcome(RETRY, str(exc), stop=True)
    # A bug or a database error: keep the entries (rescheduled) and stop this run.
    logger.error("Delivering %s to ZeroDB failed", label, exc_info=exc)
    _finish(claim, retry=f"internal error: {type(exc).__name__}: {exc}")
    return outcome(RETRY, str(exc), stop=True)


# Talking to ZeroDB about one row. These change ``claim.mapping`` in memory; ``_finish``
# saves it. Only the "an insert is going out" mark is saved before the call.


def _upsert(
    client: ZeroDBClient, claim: _Claim, doc: dict[str, Any], *, may_save: bool = True
) -> None:
    spec, mapping = claim.spec, claim.mapping
    if mapping.needs_lookup:
        # An earlier insert got no answer (or verify found duplicates): use what is there.
        found = _find(client, spec, mapping.object_id)
        if found:
            keep = next((r for r in found if r.row_id == mapping.row_id), found[0])
            for extra in found:
                if extra.row_id != keep.row_id:
                    _delete_quietly(client, spec, extra.row_id)
            mapping.row_id = keep.row_id
    if mapping.row_id:
        try:
            client.replace_row(spec.name, mapping.row_id, doc)
        except NotFound:
            logger.info("ZeroDB %s %s was gone; inserting it again", spec.name, mapping.object_id)
            mapping.row_id = None
        else:
            mapping.needs_lookup = False
            return
    _insert(client, claim, doc, may_save=may_save)


def _insert(
    client: ZeroDBClient, claim: _Claim, doc: dict[str, Any], *, may_save: bool = True
) -> None:
    spec, mapping = claim.spec, claim.mapping
    if claim.marked:
        mapping.needs_lookup = True  # saved so before the batch's calls
    elif not mapping.needs_lookup:
        if not may_save:
            raise _MarkFirst
        # Committed before the request: if the answer is lost, the next attempt looks first.
        _save_mapping(claim, needs_lookup=True)
    try:
        try:
            row = client.insert_row(spec.name, doc)
        except NotFound:
            # The table does not exist (a fresh project, or `zerodb init` never ran).
            logger.warning("ZeroDB table %s is missing; creating it", spec.name)
            client.create_table(spec.name, spec.schema, spec.description)
            row = client.insert_row(spec.name, doc)
    except Rejected:
        mapping.needs_lookup = False  # refused outright: nothing was stored
        raise
    except Unavailable as exc:
        if exc.status in (429, 503):
            mapping.needs_lookup = False  # turned away before any work: nothing stored
            raise
        raise _InsertUnanswered(exc) from exc
    mapping.row_id, mapping.needs_lookup = row.row_id, False


def _delete_remote(client: ZeroDBClient, claim: _Claim) -> None:
    spec, mapping = claim.spec, claim.mapping
    if mapping.row_id:
        _delete_quietly(client, spec, mapping.row_id)
    if mapping.needs_lookup or not mapping.row_id:
        # A row we never saw answered (or never knew) may still be there under our id.
        for row in _find(client, spec, mapping.object_id):
            _delete_quietly(client, spec, row.row_id)
    mapping.row_id, mapping.needs_lookup = None, False


def _find(client: ZeroDBClient, spec: TableSpec, object_id: Any) -> list[Row]:
    """Rows whose ``row_data.id`` is our id.

    Checked here too: a deployment that ignores the filter answers with other rows, and
    then every page is read (until a short page, or one seen before if ``skip`` is
    ignored too) so that a stored row is never missed and inserted twice.
    """
    wanted = str(object_id)
    found: list[Row] = []
    seen: set[str] = set()
    skip = 0
    while True:
        try:
            page = client.query_rows(spec.name, {"id": wanted}, limit=LOOKUP_PAGE, skip=skip)
        except NotFound:  # no such table: nothing stored
            return found
        new = [row for row in page if row.row_id not in seen]
        seen.update(row.row_id for row in new)
        found += [row for row in new if str(row.data.get("id")) == wanted]
        filtered = all(str(row.data.get("id")) == wanted for row in page)
        if filtered or len(page) < LOOKUP_PAGE or not new:
            return found
        skip += len(page)


def _delete_quietly(client: ZeroDBClient, spec: TableSpec, row_id: str) -> None:
    with contextlib.suppress(NotFound):
        client.delete_row(spec.name, row_id)


# Bookkeeping.


def _save_mapping(claim: _Claim, **fields: Any) -> None:
    """Save fields of the map now, only while we still hold the row's lease."""
    mapping = claim.mapping
    if not RowMapping.objects.filter(pk=mapping.pk, lease_token=claim.token).update(**fields):
        raise _LeaseLost
    for name, value in fields.items():
        setattr(mapping, name, value)


def _release(claim: _Claim) -> None:
    RowMapping.objects.filter(pk=claim.mapping.pk, lease_token=claim.token).update(
        lease_token=None, lease_until=None
    )


def _finish(
    claim: _Claim,
    *,
    retry: str = "",
    bury: str = "",
    retry_after: float | None = None,
    at_least: timedelta = timedelta(0),
) -> bool:
    """Save the map, settle the entries and release the lease, in one transaction.

    Returns False (and changes nothing) when the lease was lost meanwhile.
    """
    mapping, now = claim.mapping, claim.now
    delivered = not retry and not bury
    fields: dict[str, Any] = {
        "row_id": mapping.row_id,
        "needs_lookup": mapping.needs_lookup,
        "lease_token": None,
        "lease_until": None,
    }
    if delivered:
        fields["synced_at"] = now
    entries = OutboxEntry.objects.filter(
        table=mapping.table, object_id=mapping.object_id, claimed_by=claim.token
    )
    with transaction.atomic():
        ours = RowMapping.objects.filter(pk=mapping.pk, lease_token=claim.token)
        if not ours.update(**fields):
            return False
        if delivered:
            # With the row's dead letters (only a lease holder makes them, and we hold it):
            # ZeroDB now has the row's current state.
            OutboxEntry.objects.filter(
                Q(claimed_by=claim.token) | Q(state=OutboxState.DEAD),
                table=mapping.table,
                object_id=mapping.object_id,
            ).delete()
            if mapping.row_id is None and not mapping.needs_lookup:
                ours_now = RowMapping.objects.filter(pk=mapping.pk, lease_token__isnull=True)
                ours_now.delete()  # deleted everywhere: forget the row
        elif bury:
            entries.update(
                state=OutboxState.DEAD,
                claimed_by=None,
                attempts=F("attempts") + 1,
                last_attempt_at=now,
                last_error=bury[:2000],
            )
        else:
            _reschedule(entries, retry, now, retry_after, at_least)
    return True


def _reschedule(entries, error: str, now: datetime, retry_after, at_least: timedelta) -> None:
    attempts = (entries.aggregate(most=Max("attempts"))["most"] or 0) + 1
    next_attempt_at = now + max(outbox.backoff_delay(attempts, retry_after), at_least)
    entries.update(
        claimed_by=None,
        attempts=attempts,
        next_attempt_at=next_attempt_at,
        last_attempt_at=now,
        last_error=error[:2000],
    )
    if retry_after:
        # The server asked every client to hold off, not just for this row.
        pause_until = now + timedelta(seconds=min(retry_after, 6 * 3600.0))
        OutboxEntry.objects.filter(
            state=OutboxState.PENDING, next_attempt_at__lt=pause_until
        ).update(next_attempt_at=pause_until)


def send_threads() -> int:
    """How many rows' calls one drain run keeps in flight at once."""
    return int(getattr(settings, "ZERODB_SEND_THREADS", 1))


def drain_seconds() -> float:
    """The time budget of one scheduled drain run."""
    return float(getattr(settings, "ZERODB_DRAIN_SECONDS", 30))
