"""The outbox: queue a row for ZeroDB in the transaction that changed it.

``enqueue`` runs inside the caller's transaction, so the entry commits or rolls back with
the change itself: a change is never lost between "saved" and "queued", and a rolled-back
change queues nothing. After the commit a worker is asked to drain (``kick``): that only
puts a task on django-q2's broker; the HTTP calls happen in the worker, never in the web
request that made the change.

A row has at most one open entry: a second change before a worker claims the entry is
folded into it (the worker sends the row's current state, whatever changed). The open
entry is locked by that fold (``select_for_update``) and the worker claims entries with a
conditional UPDATE, so a fold can never slip in after the worker read the row's state.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Min
from django.utils import timezone

from sessions_app.storage.fieldmap import TABLES
from sessions_app.storage.models import OutboxEntry, OutboxOp, OutboxState

logger = logging.getLogger(__name__)

DRAIN_TASK = "sessions_app.storage.tasks.drain_outbox"
_CHUNK = 500  # ids per query: well under SQLite's limit on query parameters


def is_enabled() -> bool:
    """Whether the ZeroDB mirror is on (read at call time, so tests can switch it)."""
    return bool(getattr(settings, "ZERODB_API_KEY", ""))


def enqueue(rows: Iterable[tuple[str, Any]], op: str, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Queue ``(table, object_id)`` pairs, folding into open entries; then ask for a drain.

    Must run inside the transaction of the change (the tracking mixin and queryset see to
    it). Does nothing when the adapter is off.
    """
    if not is_enabled():
        return
    by_table: dict[str, dict[uuid.UUID, None]] = defaultdict(dict)  # ordered sets
    for table, object_id in rows:
        if table not in TABLES:
            raise ValueError(f"{table!r} is not a mirrored table")
        if object_id is not None:
            by_table[table][_as_uuid(object_id)] = None
    if not by_table:
        return
    now = timezone.now()
    inserted = 0
    with transaction.atomic(using=using, savepoint=False):
        for table, unique_ids in by_table.items():
            ids = list(unique_ids)
            for start in range(0, len(ids), _CHUNK):
                inserted += _enqueue_chunk(table, ids[start : start + _CHUNK], op, now, using)
        if inserted:
            # A change folded into an open entry needs no kick: that entry's own kick is
            # still to run, or it is backing off and a kick would not help.
            _ask_for_drain(using)


def _enqueue_chunk(table: str, ids: list[uuid.UUID], op: str, now: datetime, using: str) -> int:
    open_entries = OutboxEntry.objects.using(using).filter(
        table=table, object_id__in=ids, state=OutboxState.PENDING, claimed_by__isnull=True
    )
    # The lock keeps a worker from claiming these entries (and reading the row's old
    # state) until this transaction has committed the change folded into them.
    folded = set(open_entries.select_for_update().values_list("object_id", flat=True))
    if folded:
        open_entries.filter(object_id__in=folded).update(op=op, changed_at=now)
    new = [
        OutboxEntry(
            table=table,
            object_id=object_id,
            op=op,
            created_at=now,
            changed_at=now,
            next_attempt_at=now,
        )
        for object_id in ids
        if object_id not in folded
    ]
    OutboxEntry.objects.using(using).bulk_create(new)
    return len(new)


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _ask_for_drain(using: str) -> None:
    """Kick a worker once per transaction, after it commits."""
    connection = transaction.get_connection(using)
    if any(callback is kick for _, callback, _ in connection.run_on_commit):
        return
    transaction.on_commit(kick, using=using, robust=True)


def kick() -> None:
    """Put a drain task on the broker for a worker. Never delivers anything itself.

    ``sync`` is forced off: with django-q2's sync mode (tests, debugging) the task would
    otherwise run right here, inside the web request that made the change. A broker that
    cannot be reached only delays delivery until the every-minute schedule.
    """
    from sessions_app.queueing import enqueue

    try:
        enqueue(DRAIN_TASK, task_name="zerodb drain", sync=False, save=False)
    except Exception:
        logger.warning(
            "Could not queue a ZeroDB drain; the every-minute schedule will deliver the change.",
            exc_info=True,
        )


def parents_of(spec_table: str, objs: Iterable[Any]) -> list[tuple[str, Any]]:
    """The parent rows whose documents count ``objs`` (e.g. a session's attendance)."""
    counted_in = TABLES[spec_table].counted_in
    if counted_in is None:
        return []
    attribute, parent_table = counted_in
    return [(parent_table, getattr(obj, attribute)) for obj in objs]


# Bookkeeping used by the commands and the admin.


@dataclass(frozen=True)
class Backlog:
    pending: int
    waiting: int  # pending but backing off after a failure
    dead: int
    oldest_pending_at: datetime | None
    last_error: str


def backlog(now: datetime | None = None) -> Backlog:
    """Counts for ``zerodb status``."""
    now = now or timezone.now()
    pending = OutboxEntry.objects.filter(state=OutboxState.PENDING)
    latest_failure = OutboxEntry.objects.exclude(last_error="").order_by("-last_attempt_at").first()
    return Backlog(
        pending=pending.count(),
        waiting=pending.filter(next_attempt_at__gt=now).count(),
        dead=OutboxEntry.objects.filter(state=OutboxState.DEAD).count(),
        oldest_pending_at=pending.aggregate(oldest=Min("created_at"))["oldest"],
        last_error=latest_failure.last_error if latest_failure else "",
    )


def retry_dead(ids: Iterable[int] | None = None, now: datetime | None = None) -> int:
    """Move dead letters (all, or the given ids) back to pending, due now."""
    now = now or timezone.now()
    dead = OutboxEntry.objects.filter(state=OutboxState.DEAD)
    if ids is not None:
        dead = dead.filter(pk__in=list(ids))
    return dead.update(state=OutboxState.PENDING, attempts=0, next_attempt_at=now, claimed_by=None)


def requeue_table(table: str, *, batch_size: int = 1000, progress=None) -> int:
    """Queue every row of ``table`` (``zerodb sync --full``); returns how many."""
    model = TABLES[table].model
    ids = model._base_manager.order_by("pk").values_list("pk", flat=True)
    queued = 0
    batch: list[Any] = []
    for object_id in ids.iterator(chunk_size=batch_size):
        batch.append(object_id)
        if len(batch) >= batch_size:
            queued += _requeue_batch(table, batch)
            batch = []
            if progress:
                progress(queued)
    if batch:
        queued += _requeue_batch(table, batch)
        if progress:
            progress(queued)
    return queued


def _requeue_batch(table: str, ids: list[Any]) -> int:
    with transaction.atomic():
        enqueue(((table, object_id) for object_id in ids), OutboxOp.UPDATE)
    return len(ids)


def backoff_delay(attempts: int, retry_after: float | None = None) -> timedelta:
    """Capped exponential back-off after ``attempts`` failures, at least ``retry_after``."""
    base = float(getattr(settings, "ZERODB_BACKOFF_SECONDS", 5))
    cap = float(getattr(settings, "ZERODB_BACKOFF_MAX_SECONDS", 300))
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    if retry_after is not None:
        # Honour the server, within reason: a day-long Retry-After is a misconfiguration.
        delay = max(delay, min(retry_after, 6 * 3600.0))
    return timedelta(seconds=delay)
