"""Events: a seminar, camp or programme that groups training sessions."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from sessions_app.storage.tracking import MirroredModel, MirroredQuerySet
from wwmaa.models import default_timezone, validate_timezone_name


class EventQuerySet(MirroredQuerySet):
    def public(self):
        return self.filter(is_public=True)

    def visible_to(self, user):
        """Events the user may see: all for members and above, public ones otherwise
        (``Event.is_visible_to`` for one event already read)."""
        from wwmaa import roles

        return self if roles.is_member(user) else self.public()


class Event(MirroredModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=5000)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    timezone = models.CharField(
        max_length=64,
        default=default_timezone,
        validators=[validate_timezone_name],
        help_text="IANA time zone in which the event's pages show times.",
    )
    location = models.CharField(max_length=200, blank=True, default="Online")
    is_public = models.BooleanField(
        default=False, help_text="Visible to visitors who are not logged in."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "title"]
        indexes = [models.Index(fields=["is_public", "starts_at"], name="event_public_start_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gte=F("starts_at")), name="event_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def is_visible_to(self, user) -> bool:
        """Whether ``user`` may see this event: the rule of ``EventQuerySet.visible_to``."""
        from wwmaa import roles

        return self.is_public or roles.is_member(user)

    @property
    def zoneinfo(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (KeyError, ValueError):
            return ZoneInfo(settings.TIME_ZONE)

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.starts_at and self.ends_at and self.ends_at < self.starts_at:
            raise ValidationError({"ends_at": "The event cannot end before it starts."})
