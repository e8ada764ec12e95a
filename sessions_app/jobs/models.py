"""The claim row of every email the jobs send: one per (session, user, kind, start time).

The row is written before the email goes out, under a unique constraint, so two workers
can never both send it; it then keeps the outcome (sent, skipped, or the error and the
attempts of a failed send) so nothing is lost silently.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class EmailKind(models.TextChoices):
    REMINDER_24H = "reminder_24h", "Reminder, 24 hours before"
    REMINDER_1H = "reminder_1h", "Reminder, 1 hour before"
    REMINDER_10M = "reminder_10m", "Reminder, 10 minutes before"
    CANCELED = "canceled", "Session canceled"
    RESCHEDULED = "rescheduled", "Session moved"
    ROOM_FAILED = "room_failed", "Video room could not be created"


class EmailStatus(models.TextChoices):
    QUEUED = "queued", "Queued"  # waits for next_attempt_at: a new notice, or a retry
    SENDING = "sending", "Sending"  # claimed by one worker; goes out once the claim commits
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "Skipped"  # not sent on purpose; last_error says why
    FAILED = "failed", "Failed"  # every attempt failed; last_error keeps the last error


class SessionEmail(models.Model):
    """One email about one session to one user.

    ``start_time`` is the session's start time the email is about: moving a session makes
    new keys, so its reminders are sent again for the new time. ``schedule_version`` tells
    the notices of successive moves apart; reminders always store 0, so their key is
    (session, user, kind, start_time).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: the unique key below leads with it.
    session = models.ForeignKey(
        "sessions_app.TrainingSession",
        on_delete=models.CASCADE,
        related_name="emails",
        db_index=False,
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="session_emails"
    )
    kind = models.CharField(max_length=16, choices=EmailKind.choices)
    start_time = models.DateTimeField()
    schedule_version = models.PositiveIntegerField(default=0)
    previous_start_time = models.DateTimeField(
        null=True, blank=True, help_text="For a move: the time it moved from."
    )
    status = models.CharField(max_length=16, choices=EmailStatus.choices)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set by the claim that moves the row to ``sending``: the claimant finds its own rows
    # by it, whoever else claimed rows at the same moment.
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "user", "kind", "start_time", "schedule_version"],
                name="session_email_once",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=EmailKind.values), name="session_email_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=EmailStatus.values),
                name="session_email_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="session_email_due_idx"),
            models.Index(fields=["claim_token"], name="session_email_claim_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.user} about {self.session}"
