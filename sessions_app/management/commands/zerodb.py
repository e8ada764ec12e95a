"""``manage.py zerodb``: set up, inspect and repair the ZeroDB mirror.

init            create the three tables (existing ones are fine) and the drain schedule
status          on or off, backlog, oldest pending change, dead letters
push            deliver the whole outbox now, in the foreground (back-off ignored)
sync --full     queue every row again (e.g. after ZeroDB was restored)
retry           send the dead letters back to the queue
verify          compare every local row with ZeroDB by id and content
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from sessions_app.storage import delivery, outbox
from sessions_app.storage.client import ZeroDBClient, ZeroDBError
from sessions_app.storage.fieldmap import TABLES, TableSpec, canonical, content_hash
from sessions_app.storage.models import OutboxOp, RowMapping
from sessions_app.storage.tasks import install_schedule

OFF_MESSAGE = "ZeroDB is off: ZERODB_API_KEY is not set, so nothing is queued or sent."
SHOWN_DIFFERENCES = 20


def _age(since: datetime | None, now: datetime) -> str:
    if since is None:
        return "-"
    seconds = int((now - since).total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


class Command(BaseCommand):
    help = "Set up, inspect and repair the ZeroDB mirror of sessions, attendance and events."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(
            dest="action", metavar="{init,status,push,sync,retry,verify}"
        )
        actions.add_parser("init", help="Create the tables and the drain schedule.")
        actions.add_parser("status", help="Configured or off, backlog and dead letters.")
        push = actions.add_parser("push", help="Deliver the outbox now, in the foreground.")
        push.add_argument("--limit", type=int, help="Stop after this many rows.")
        sync = actions.add_parser("sync", help="Queue rows again for delivery.")
        sync.add_argument(
            "--full", action="store_true", help="Queue every row of every mirrored table."
        )
        retry = actions.add_parser("retry", help="Send dead letters back to the queue.")
        retry.add_argument("ids", nargs="*", type=int, help="Entry ids (default: all).")
        verify = actions.add_parser("verify", help="Compare local rows with ZeroDB.")
        verify.add_argument(
            "--requeue", action="store_true", help="Queue every row found different."
        )
        verify.add_argument("--table", choices=sorted(TABLES), help="Only this table.")

    def handle(self, *args, action: str | None = None, **options):
        if action is None:
            raise CommandError("Name an action: init, status, push, sync --full, retry or verify.")
        return getattr(self, f"_{action}")(**options)

    # Actions

    def _init(self, **options) -> None:
        client = self._client()
        for spec in TABLES.values():
            created = self._call(client.create_table, spec.name, spec.schema, spec.description)
            self.stdout.write(f"{spec.name}: {'created' if created else 'exists already'}")
        created = install_schedule()
        self.stdout.write(
            f"Drain schedule: {'installed' if created else 'present'} (every minute)."
        )
        self.stdout.write(self.style.SUCCESS(f"ZeroDB is ready at {client.endpoint}."))

    def _status(self, **options) -> None:
        now = timezone.now()
        if outbox.is_enabled():
            client = self._client()
            self.stdout.write(f"ZeroDB: on ({client.endpoint}, auth {client.auth_mode})")
        else:
            self.stdout.write(f"ZeroDB: off ({OFF_MESSAGE.split(': ', 1)[1]})")
        backlog = outbox.backlog(now)
        self.stdout.write(
            f"Backlog: {backlog.pending} pending ({backlog.waiting} backing off), "
            f"oldest {_age(backlog.oldest_pending_at, now)}"
        )
        self.stdout.write(f"Dead letters: {backlog.dead}")
        if backlog.last_error:
            self.stdout.write(f"Last error: {backlog.last_error[:200]}")

    def _push(self, limit: int | None = None, **options) -> None:
        if limit is not None and limit < 1:
            raise CommandError("--limit must be a positive number of rows.")
        client = self._client()
        total = outbox.backlog().pending
        self.stdout.write(f"Pushing {total} pending entr{'y' if total == 1 else 'ies'}…")

        def progress(report: delivery.DrainReport) -> None:
            if report.rows % 100 == 0:
                self.stdout.write(
                    f"  {report.rows} rows: {report.delivered} delivered, {report.dead} dead"
                )

        report = delivery.drain(client, max_rows=limit, include_waiting=True, progress=progress)
        left = outbox.backlog()
        summary = (
            f"Delivered {report.delivered} rows ({report.entries} entries); "
            f"{report.dead} moved to dead letters; {left.pending} pending, {left.dead} dead."
        )
        if report.stopped_by:
            raise CommandError(f"{summary} Stopped: {report.stopped_by}")
        self.stdout.write(self.style.SUCCESS(summary))

    def _sync(self, full: bool = False, **options) -> None:
        if not full:
            raise CommandError("sync needs --full (it queues every row of every table again).")
        self._require_on()
        total = 0
        for table in TABLES:
            count = outbox.requeue_table(
                table, progress=lambda n, t=table: self.stdout.write(f"  {t}: {n} queued")
            )
            self.stdout.write(f"{table}: {count} rows queued")
            total += count
        self.stdout.write(
            self.style.SUCCESS(
                f"{total} rows queued; the worker delivers them (or run `zerodb push`)."
            )
        )

    def _retry(self, ids: list[int] | None = None, **options) -> None:
        count = outbox.retry_dead(ids or None)
        self.stdout.write(self.style.SUCCESS(f"{count} dead letter(s) queued again."))

    def _verify(self, requeue: bool = False, table: str | None = None, **options) -> None:
        client = self._client()
        tables = [TABLES[table]] if table else list(TABLES.values())
        problems = 0
        for spec in tables:
            problems += self._verify_table(client, spec, requeue)
        if problems:
            note = " (queued again)" if requeue else " (run with --requeue to repair)"
            self.stdout.write(self.style.WARNING(f"{problems} difference(s) found{note}."))
        else:
            self.stdout.write(self.style.SUCCESS("ZeroDB matches the local rows."))

    def _verify_table(self, client: ZeroDBClient, spec: TableSpec, requeue: bool) -> int:
        self.stdout.write(f"{spec.name}: reading ZeroDB…")
        remote: dict[str, list] = defaultdict(list)
        seen = 0
        for row in self._call(lambda: list(client.iter_rows(spec.name))):
            remote[str(row.data.get("id"))].append(row)
            seen += 1
            if seen % 1000 == 0:
                self.stdout.write(f"  {seen} rows read")
        missing, different, duplicated = [], [], []
        local_ids = set()
        checked = 0
        for obj in spec.rows().iterator(chunk_size=500):
            object_id = str(obj.pk)
            local_ids.add(object_id)
            rows = remote.get(object_id, [])
            doc = spec.to_document(obj)
            if not rows:
                missing.append((object_id, ""))
            else:
                if len(rows) > 1:
                    duplicated.append((object_id, f"{len(rows)} rows"))
                if all(content_hash(spec, r.data) != content_hash(spec, doc) for r in rows):
                    ours, theirs = canonical(spec, doc), canonical(spec, rows[0].data)
                    fields = sorted(k for k in ours if ours[k] != theirs.get(k))
                    different.append((object_id, ", ".join(fields)))
            checked += 1
            if checked % 1000 == 0:
                self.stdout.write(f"  {checked} local rows compared")
        extra = [(object_id, "") for object_id in remote if object_id not in local_ids]
        self.stdout.write(
            f"{spec.name}: {checked} local, {seen} in ZeroDB — {len(missing)} missing, "
            f"{len(different)} different, {len(duplicated)} duplicated, {len(extra)} extra"
        )
        kinds = (
            ("missing", missing),
            ("different", different),
            ("duplicated", duplicated),
            ("extra", extra),
        )
        shown = 0
        for kind, items in kinds:
            for object_id, note in items:
                if shown < SHOWN_DIFFERENCES:
                    self.stdout.write(f"  {kind:<10} {object_id} {note}".rstrip())
                shown += 1
        if shown > SHOWN_DIFFERENCES:
            self.stdout.write(f"  … and {shown - SHOWN_DIFFERENCES} more")
        if requeue and shown:
            self._requeue(spec, missing, different, duplicated, extra)
        return shown

    def _requeue(self, spec, missing, different, duplicated, extra) -> None:
        ids, strangers = set(), []
        for items in (missing, different, duplicated, extra):
            for object_id, _ in items:
                try:
                    ids.add(uuid.UUID(object_id))
                except ValueError:
                    strangers.append(object_id)
        # Duplicates and strays are found by a lookup by id at the next delivery.
        lookups = ids & {uuid.UUID(i) for i, _ in (*duplicated, *extra) if i not in strangers}
        for object_id in lookups:
            mapping, created = RowMapping.objects.get_or_create(
                table=spec.name, object_id=object_id, defaults={"needs_lookup": True}
            )
            if not created:
                RowMapping.objects.filter(pk=mapping.pk).update(needs_lookup=True)
        with transaction.atomic():
            outbox.enqueue(((spec.name, object_id) for object_id in ids), OutboxOp.UPDATE)
        if strangers:
            self.stdout.write(
                f"  {len(strangers)} row(s) carry an id that is not one of ours; "
                "they are left alone (delete them in ZeroDB by hand if they are junk)."
            )

    # Helpers

    def _require_on(self) -> None:
        if not outbox.is_enabled():
            raise CommandError(OFF_MESSAGE)

    def _client(self) -> ZeroDBClient:
        self._require_on()
        try:
            return ZeroDBClient.from_settings()
        except Exception as exc:  # ImproperlyConfigured, with the setting's name in it
            raise CommandError(str(exc)) from None

    def _call(self, func, *args):
        try:
            return func(*args)
        except ZeroDBError as exc:
            raise CommandError(f"ZeroDB: {exc}") from None
