"""The worker side of the outbox: bring one row of ZeroDB up to date, then the next.

``deliver_one`` is the unit (it says whether it found work); ``drain`` is the thin loop the
task and ``manage.py zerodb push`` run. For one row:

1. **Lease** the row: a conditional UPDATE on its ``RowMapping`` (free, or its lease
   expired). Only the lease holder talks to ZeroDB about the row, so two workers never
   both insert it, and a row's changes go out in order.
2. **Claim** the row's pending entries (conditional UPDATE, committed) *before* reading
   the row: a change committed after the claim gets a new entry and a later delivery.
3. **Send the current state**: several changes are coalesced into one call. A row that
   still exists is replaced when its ``row_id`` is known (a 404 means it is gone:
   re-insert), inserted otherwise; a row that no longer exists is deleted in ZeroDB.
   Before an insert the map is marked ``needs_lookup`` (committed): if the insert's answer
   never arrives, the next attempt looks the row up by our ``id`` and replaces what it
   finds instead of inserting a duplicate.
4. **Settle**: success deletes the claimed entries; a transient failure (or bad
   credentials) reschedules them with capped exponential back-off honouring Retry-After
   and ends this drain run; a rejection moves them to the dead letters, with the error.

Nothing here runs in a web request; it needs autocommit (no surrounding transaction) so
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
from django.db import IntegrityError, transaction
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
LOOKUP_LIMIT = 20
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
            at = now or timezone.now()
            outcome = deliver_one(client, now=at, due_by=None if include_waiting else at)
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
    client: ZeroDBClient, *, now: datetime | None = None, due_by: datetime | None = None
) -> Outcome:
    """Bring the row of the oldest due entry up to date in ZeroDB. ``IDLE`` if none is due.

    ``due_by`` None takes every pending entry, also those backing off.
    """
    now = now or timezone.now()
    candidate = _next_due_row(now, due_by)
    if candidate is None:
        return Outcome(IDLE)
    table, object_id = candidate
    token = uuid.uuid4().hex
    mapping = _lease(table, object_id, token, now)
    if mapping is None:
        return Outcome(BUSY, table, object_id)
    try:
        claimed = _claim(table, object_id, token)
        if not claimed:
            return Outcome(BUSY, table, object_id)
        return _deliver_claimed(client, TABLES[table], mapping, claimed, token, now)
    finally:
        RowMapping.objects.filter(pk=mapping.pk, lease_token=token).update(
            lease_token=None, lease_until=None
        )


def _next_due_row(now: datetime, due_by: datetime | None) -> tuple[str, Any] | None:
    leased = RowMapping.objects.filter(
        table=OuterRef("table"), object_id=OuterRef("object_id"), lease_until__gt=now
    )
    due = OutboxEntry.objects.filter(state=OutboxState.PENDING).filter(~Exists(leased))
    if due_by is not None:
        due = due.filter(next_attempt_at__lte=due_by)
    return due.order_by("next_attempt_at", "id").values_list("table", "object_id").first()


def _lease(table: str, object_id: Any, token: str, now: datetime) -> RowMapping | None:
    try:
        mapping, _ = RowMapping.objects.get_or_create(table=table, object_id=object_id)
    except IntegrityError:  # another worker created it a moment ago
        mapping = RowMapping.objects.get(table=table, object_id=object_id)
    won = (
        RowMapping.objects.filter(pk=mapping.pk)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
        .update(lease_token=token, lease_until=now + LEASE)
    )
    if not won:
        return None
    mapping.refresh_from_db()
    return mapping


def _claim(table: str, object_id: Any, token: str) -> list[int]:
    """Claim every pending entry of the row (ours now: we hold its lease)."""
    OutboxEntry.objects.filter(table=table, object_id=object_id, state=OutboxState.PENDING).update(
        claimed_by=token
    )
    return list(
        OutboxEntry.objects.filter(
            table=table, object_id=object_id, claimed_by=token, state=OutboxState.PENDING
        ).values_list("id", flat=True)
    )


def _deliver_claimed(
    client: ZeroDBClient,
    spec: TableSpec,
    mapping: RowMapping,
    claimed: list[int],
    token: str,
    now: datetime,
) -> Outcome:
    obj = spec.load(mapping.object_id)
    label = f"{spec.name} {mapping.object_id}"
    try:
        if obj is None:
            _delete_remote(client, spec, mapping, token)
        else:
            _upsert(client, spec, mapping, spec.to_document(obj), token, now)
    except _LeaseLost:
        logger.warning("ZeroDB %s: another worker took the row over", label)
        return Outcome(BUSY, spec.name, mapping.object_id)
    except Rejected as exc:
        _bury(claimed, token, str(exc), now)
        logger.error("ZeroDB refused %s; moved to the dead letters: %s", label, exc)
        return Outcome(DEAD, spec.name, mapping.object_id, len(claimed), str(exc))
    except InvalidCredentials as exc:
        _reschedule(claimed, token, f"credentials refused: {exc}", now)
        logger.error("ZeroDB refused our credentials (check ZERODB_API_KEY): %s", exc)
        return Outcome(RETRY, spec.name, mapping.object_id, len(claimed), str(exc), stop=True)
    except _InsertUnanswered as wrapped:
        exc = wrapped.cause
        grace = max(LATE_STORE_GRACE, timedelta(seconds=3 * client.timeout))
        _reschedule(claimed, token, str(exc), now, retry_after=exc.retry_after, at_least=grace)
        logger.warning("ZeroDB insert of %s got no answer; will look it up: %s", label, exc)
        return Outcome(RETRY, spec.name, mapping.object_id, len(claimed), str(exc), stop=True)
    except Unavailable as exc:
        _reschedule(claimed, token, str(exc), now, retry_after=exc.retry_after)
        logger.warning("ZeroDB unavailable for %s; will retry: %s", label, exc)
        return Outcome(RETRY, spec.name, mapping.object_id, len(claimed), str(exc), stop=True)
    except NotFound as exc:
        # Not a row (handled above) but the project or the table API: configuration.
        _reschedule(claimed, token, f"not found: {exc}", now)
        logger.error("ZeroDB %s: %s (check ZERODB_PROJECT_ID and ZERODB_PATH_PREFIX)", label, exc)
        return Outcome(RETRY, spec.name, mapping.object_id, len(claimed), str(exc), stop=True)
    except Exception as exc:
        # A bug or a database error: keep the entries (rescheduled) and stop this run.
        _reschedule(claimed, token, f"internal error: {type(exc).__name__}: {exc}", now)
        logger.exception("Delivering %s to ZeroDB failed", label)
        return Outcome(RETRY, spec.name, mapping.object_id, len(claimed), str(exc), stop=True)
    _settle(spec.name, mapping, claimed, token, now)
    return Outcome(DELIVERED, spec.name, mapping.object_id, len(claimed))


# Talking to ZeroDB about one row.


def _upsert(
    client: ZeroDBClient,
    spec: TableSpec,
    mapping: RowMapping,
    doc: dict[str, Any],
    token: str,
    now: datetime,
) -> None:
    if mapping.needs_lookup:
        # An earlier insert got no answer (or verify found duplicates): use what is there.
        found = _find(client, spec, mapping.object_id)
        if found:
            keep = next((r for r in found if r.row_id == mapping.row_id), found[0])
            for extra in found:
                if extra.row_id != keep.row_id:
                    _delete_quietly(client, spec, extra.row_id)
            mapping.row_id = keep.row_id
            _save_mapping(mapping, token, row_id=keep.row_id)
    if mapping.row_id:
        try:
            client.replace_row(spec.name, mapping.row_id, doc)
        except NotFound:
            logger.info("ZeroDB %s %s was gone; inserting it again", spec.name, mapping.object_id)
        else:
            _save_mapping(mapping, token, needs_lookup=False, synced_at=now)
            return
    _insert(client, spec, mapping, doc, token, now)


def _insert(
    client: ZeroDBClient,
    spec: TableSpec,
    mapping: RowMapping,
    doc: dict[str, Any],
    token: str,
    now: datetime,
) -> None:
    # Committed before the request: if the answer is lost, the next attempt looks first.
    _save_mapping(mapping, token, row_id=None, needs_lookup=True)
    try:
        try:
            row = client.insert_row(spec.name, doc)
        except NotFound:
            # The table does not exist (a fresh project, or `zerodb init` never ran).
            logger.warning("ZeroDB table %s is missing; creating it", spec.name)
            client.create_table(spec.name, spec.schema, spec.description)
            row = client.insert_row(spec.name, doc)
    except Rejected:
        # Refused outright: nothing was stored, so there is nothing to look up later.
        _save_mapping(mapping, token, needs_lookup=False)
        raise
    except Unavailable as exc:
        if exc.status in (429, 503):
            raise  # turned away before any work was done: nothing stored
        raise _InsertUnanswered(exc) from exc
    _save_mapping(mapping, token, row_id=row.row_id, needs_lookup=False, synced_at=now)


def _delete_remote(client: ZeroDBClient, spec: TableSpec, mapping: RowMapping, token: str) -> None:
    if mapping.row_id:
        _delete_quietly(client, spec, mapping.row_id)
    if mapping.needs_lookup or not mapping.row_id:
        # A row we never saw answered (or never knew) may still be there under our id.
        for row in _find(client, spec, mapping.object_id):
            _delete_quietly(client, spec, row.row_id)
    _save_mapping(mapping, token, row_id=None, needs_lookup=False)


def _find(client: ZeroDBClient, spec: TableSpec, object_id: Any) -> list[Row]:
    """Rows whose ``row_data.id`` is our id (checked here too: filters may be ignored)."""
    wanted = str(object_id)
    try:
        rows = client.query_rows(spec.name, {"id": wanted}, limit=LOOKUP_LIMIT)
    except NotFound:  # no such table: nothing stored
        return []
    return [row for row in rows if str(row.data.get("id")) == wanted]


def _delete_quietly(client: ZeroDBClient, spec: TableSpec, row_id: str) -> None:
    with contextlib.suppress(NotFound):
        client.delete_row(spec.name, row_id)


# Bookkeeping.


def _save_mapping(mapping: RowMapping, token: str, **fields: Any) -> None:
    """Update the map, only while we still hold the row's lease."""
    if not RowMapping.objects.filter(pk=mapping.pk, lease_token=token).update(**fields):
        raise _LeaseLost
    for name, value in fields.items():
        setattr(mapping, name, value)


def _settle(table: str, mapping: RowMapping, claimed: list[int], token: str, now: datetime):
    with transaction.atomic():
        OutboxEntry.objects.filter(pk__in=claimed, claimed_by=token).delete()
        # Dead letters of the row are superseded: ZeroDB now has its current state.
        superseded = OutboxEntry.objects.filter(
            table=table, object_id=mapping.object_id, state=OutboxState.DEAD, id__lt=max(claimed)
        ).delete()[0]
        if superseded:
            logger.info(
                "ZeroDB %s %s: %d dead letter(s) superseded", table, mapping.object_id, superseded
            )
        if mapping.row_id is None and not mapping.needs_lookup:
            # Deleted everywhere: forget the row (this also ends our lease).
            RowMapping.objects.filter(pk=mapping.pk, lease_token=token).delete()


def _reschedule(
    claimed: list[int],
    token: str,
    error: str,
    now: datetime,
    retry_after: float | None = None,
    at_least: timedelta = timedelta(0),
) -> None:
    entries = OutboxEntry.objects.filter(pk__in=claimed, claimed_by=token)
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


def _bury(claimed: list[int], token: str, error: str, now: datetime) -> None:
    OutboxEntry.objects.filter(pk__in=claimed, claimed_by=token).update(
        state=OutboxState.DEAD,
        claimed_by=None,
        attempts=F("attempts") + 1,
        last_attempt_at=now,
        last_error=error[:2000],
    )


def drain_seconds() -> float:
    """The time budget of one scheduled drain run."""
    return float(getattr(settings, "ZERODB_DRAIN_SECONDS", 30))
