"""The worker side of the outbox: bring one row of ZeroDB up to date, then the next.

``deliver_one`` is the unit (it says whether it found work); ``drain`` is the thin loop the
task and ``manage.py zerodb push`` run. For one row:

1. **Lease and claim** (one transaction): take the row's ``RowMapping`` lease with a
   conditional UPDATE (free, or expired) and mark the row's pending entries as claimed.
   Only the lease holder talks to ZeroDB about the row, so two workers never both insert
   it and a row's changes go out in order. The claim commits *before* the row is read: a
   change committed later gets a new entry and a later delivery.
2. **Send the current state**, coalescing every claimed change into one call. A row that
   still exists is replaced when its ``row_id`` is known (a 404 means it is gone: insert
   it again) and inserted otherwise; a row that no longer exists is deleted in ZeroDB.
   Before an insert the map is marked ``needs_lookup`` (committed): if the answer never
   arrives, the next attempt — after ``LATE_STORE_GRACE`` — looks the row up by our ``id``
   and replaces what it finds instead of inserting a duplicate.
3. **Settle** (one transaction): success deletes the claimed entries and records the
   ``row_id``; a transient failure (or refused credentials) reschedules them with capped
   exponential back-off honouring Retry-After and ends the drain run; a rejection moves
   them to the dead letters with the error. The lease is released either way.

Nothing here runs in a web request. It needs autocommit (no surrounding transaction), so
that the claim is committed before ZeroDB is called.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
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

logger = logging.getLogger(__name__)

# Longer than any one row's delivery can take (a few calls, each timeout × retries); a
# worker killed mid-row holds the row this long at most.
LEASE = timedelta(minutes=10)
LOOKUP_PAGE = 100
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


class _LeaseLost(Exception):
    """Another worker took the row over (our lease expired); stop touching it."""


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
) -> DrainReport:
    """Deliver due rows until none is left, a transient failure, ``max_rows`` or ``seconds``.

    ``include_waiting`` also takes entries that are backing off (``zerodb push``).
    """
    report = DrainReport()
    if not outbox.is_enabled():
        report.off = True
        return report
    own_client = client is None
    client = client or ZeroDBClient.from_settings()
    started = time.monotonic()
    try:
        while True:
            if max_rows is not None and report.rows >= max_rows:
                break
            if seconds is not None and time.monotonic() - started >= seconds:
                break
            outcome = deliver_one(
                client, now=now or timezone.now(), include_waiting=include_waiting
            )
            if not outcome.found_work:
                break
            report.add(outcome)
            if progress and outcome.kind != BUSY:
                progress(report)
            if outcome.stop:
                break
    finally:
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


def _next_due_row(now: datetime, include_waiting: bool) -> tuple[str, Any] | None:
    leased = RowMapping.objects.filter(
        table=OuterRef("table"), object_id=OuterRef("object_id"), lease_until__gt=now
    )
    due = OutboxEntry.objects.filter(state=OutboxState.PENDING).filter(~Exists(leased))
    if not include_waiting:
        due = due.filter(next_attempt_at__lte=now)
    return due.order_by("next_attempt_at", "id").values_list("table", "object_id").first()


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
    label = f"{spec.name} {mapping.object_id}"

    def outcome(kind: str, error: str = "", stop: bool = False) -> Outcome:
        return Outcome(kind, spec.name, mapping.object_id, claim.entries, error, stop)

    obj = spec.load(mapping.object_id)
    try:
        if obj is None:
            _delete_remote(client, claim)
        else:
            _upsert(client, claim, spec.to_document(obj))
    except _LeaseLost:
        logger.warning("ZeroDB %s: another worker took the row over", label)
        return outcome(BUSY)
    except Rejected as exc:
        _finish(claim, bury=str(exc))
        logger.error("ZeroDB refused %s; moved to the dead letters: %s", label, exc)
        return outcome(DEAD, str(exc))
    except InvalidCredentials as exc:
        _finish(claim, retry=f"credentials refused: {exc}")
        logger.error("ZeroDB refused our credentials (check ZERODB_API_KEY): %s", exc)
        return outcome(RETRY, str(exc), stop=True)
    except _InsertUnanswered as wrapped:
        exc = wrapped.cause
        grace = max(LATE_STORE_GRACE, timedelta(seconds=3 * client.timeout))
        _finish(claim, retry=str(exc), retry_after=exc.retry_after, at_least=grace)
        logger.warning("ZeroDB insert of %s got no answer; will look it up: %s", label, exc)
        return outcome(RETRY, str(exc), stop=True)
    except Unavailable as exc:
        _finish(claim, retry=str(exc), retry_after=exc.retry_after)
        logger.warning("ZeroDB unavailable for %s; will retry: %s", label, exc)
        return outcome(RETRY, str(exc), stop=True)
    except NotFound as exc:
        # Not a row (those are handled on the way) but the project or the table API.
        _finish(claim, retry=f"not found: {exc}")
        logger.error("ZeroDB %s: %s (check ZERODB_PROJECT_ID and ZERODB_PATH_PREFIX)", label, exc)
        return outcome(RETRY, str(exc), stop=True)
    except Exception as exc:
        # A bug or a database error: keep the entries (rescheduled) and stop this run.
        logger.exception("Delivering %s to ZeroDB failed", label)
        _finish(claim, retry=f"internal error: {type(exc).__name__}: {exc}")
        return outcome(RETRY, str(exc), stop=True)
    if not _finish(claim):
        logger.warning("ZeroDB %s: another worker took the row over", label)
        return outcome(BUSY)
    return outcome(DELIVERED)


# Talking to ZeroDB about one row. These change ``claim.mapping`` in memory; ``_finish``
# saves it. Only the "an insert is going out" mark is saved before the call.


def _upsert(client: ZeroDBClient, claim: _Claim, doc: dict[str, Any]) -> None:
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
    _insert(client, claim, doc)


def _insert(client: ZeroDBClient, claim: _Claim, doc: dict[str, Any]) -> None:
    spec, mapping = claim.spec, claim.mapping
    if not mapping.needs_lookup:
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


def drain_seconds() -> float:
    """The time budget of one scheduled drain run."""
    return float(getattr(settings, "ZERODB_DRAIN_SECONDS", 30))
