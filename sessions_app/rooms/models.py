"""What the room providers need remembered: participants, webhook deliveries, calls.

The models belong to ``sessions_app`` (their migrations live there); ``sessions_app.models``
imports this module so Django finds them. They refer to other models by name only, so
importing them never imports the session models in turn.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class RoomParticipantQuerySet(models.QuerySet):
    def known(self, session, user, role: str) -> str | None:
        """The provider's participant id for ``user`` in ``session``'s current room.

        None when there is none, or when it belongs to an earlier room of the session or
        to another role (a participant's role is fixed when it is added).
        """
        return (
            self.filter(session=session, user=user, room_id=session.room_id, role=role)
            .values_list("participant_id", flat=True)
            .first()
        )

    def remember(self, session, user, *, participant_id: str, role: str) -> None:
        """Store (or replace) the participant id returned with a user's join credentials."""
        self.update_or_create(
            session=session,
            user=user,
            defaults={"participant_id": participant_id, "room_id": session.room_id, "role": role},
        )


class RoomParticipant(models.Model):
    """The provider's participant for one user in one session's room.

    Kept so that a rejoin refreshes this participant's token instead of adding a second
    participant for the same person.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: the unique (session, user) leads with it.
    session = models.ForeignKey(
        "sessions_app.TrainingSession",
        on_delete=models.CASCADE,
        related_name="room_participants",
        db_index=False,
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="room_participants"
    )
    room_id = models.CharField(max_length=200, help_text="The room the participant belongs to.")
    participant_id = models.CharField(max_length=200)
    role = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RoomParticipantQuerySet.as_manager()

    class Meta:
        app_label = "sessions_app"
        constraints = [
            models.UniqueConstraint(
                fields=["session", "user"], name="room_participant_one_per_session_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in room {self.room_id}"


class WebhookDelivery(models.Model):
    """One webhook delivery, stored by its unique id so a re-delivery is done only once.

    The body is kept as received (it was verified before being stored), so the background
    task reads the same bytes the signature covered.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    provider = models.CharField(max_length=32)
    delivery_id = models.CharField(max_length=200, unique=True)
    event = models.CharField(max_length=64)
    body = models.TextField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        app_label = "sessions_app"
        ordering = ["received_at"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["received_at"], name="webhook_received_idx")]

    def __str__(self) -> str:
        return f"{self.event} {self.delivery_id}"


class RoomCall(models.Model):
    """One live call in a session's room, as the provider reported it.

    A room may hold several calls (everyone leaves, people come back). The end of a call
    is recorded here and never ends the training session itself: that is the
    instructor's decision or the auto-end job's.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: the (session, created_at) index leads with it.
    session = models.ForeignKey(
        "sessions_app.TrainingSession",
        on_delete=models.CASCADE,
        related_name="room_calls",
        db_index=False,
    )
    room_id = models.CharField(max_length=200)
    call_id = models.CharField(max_length=200, null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "sessions_app"
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["call_id"], condition=Q(call_id__isnull=False), name="room_call_unique_id"
            ),
        ]
        indexes = [models.Index(fields=["session", "created_at"], name="room_call_session_idx")]

    def __str__(self) -> str:
        return f"call {self.call_id or '?'} in room {self.room_id}"
