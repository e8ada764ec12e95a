"""The outbox and the row map of the ZeroDB mirror.

The models belong to ``sessions_app`` (their migrations live there); ``sessions_app.models``
imports this module so Django finds them.

* ``OutboxEntry`` — "this row changed; ZeroDB must catch up". Written in the transaction of
  the change; deleted once ZeroDB holds the row's current state; ``dead`` when ZeroDB keeps
  refusing it (an admin looks, fixes and retries). Never dropped silently.
* ``RowMapping`` — our UUID ↔ ZeroDB's ``row_id``, and the per-row lease a worker holds
  while it talks to ZeroDB about the row, so that two workers never write one row at once.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxOp(models.TextChoices):
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"


class OutboxState(models.TextChoices):
    PENDING = "pending", "Pending"
    DEAD = "dead", "Dead letter"


# On PostgreSQL both tables below keep 30 % of each page free (migration 0010): a batch's
# claim and settle then update their rows in place instead of adding index entries.


class OutboxEntry(models.Model):
    """One row (of ``table``, by our UUID) whose current state ZeroDB does not have yet.

    Several changes of a row before a worker claims it are folded into one entry; the
    worker always sends the row's current state, so the entry does not carry a body.
    """

    table = models.CharField(max_length=40)
    object_id = models.UUIDField()
    op = models.CharField(max_length=8, choices=OutboxOp.choices, help_text="The latest change.")
    state = models.CharField(max_length=8, choices=OutboxState.choices, default=OutboxState.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now, help_text="The latest change.")
    next_attempt_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Set by the worker that holds the row's lease before it reads the row's state; a
    # change arriving after that gets a new entry instead of being folded into this one.
    claimed_by = models.CharField(max_length=40, null=True, blank=True)

    class Meta:
        app_label = "sessions_app"
        ordering = ["id"]
        verbose_name = "ZeroDB outbox entry"
        verbose_name_plural = "ZeroDB outbox"
        indexes = [
            models.Index(fields=["state", "next_attempt_at", "id"], name="outbox_due_idx"),
            models.Index(fields=["table", "object_id", "state"], name="outbox_row_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=OutboxState.values), name="outbox_state_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.op} {self.table} {self.object_id}"


class RowMapping(models.Model):
    """Where one of our rows lives in ZeroDB, and who is writing it right now."""

    table = models.CharField(max_length=40)
    object_id = models.UUIDField()
    row_id = models.CharField(max_length=200, null=True, blank=True)
    # True from just before an insert is sent until its answer is recorded: an insert
    # that got no answer may have been stored, so the next write looks the row up first.
    needs_lookup = models.BooleanField(default=False)
    synced_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=40, null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "sessions_app"
        verbose_name = "ZeroDB row"
        constraints = [
            models.UniqueConstraint(fields=["table", "object_id"], name="zerodb_row_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.table} {self.object_id} → {self.row_id or '?'}"
