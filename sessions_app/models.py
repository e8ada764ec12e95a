"""Training sessions, their attendance and their registrations (RSVPs).

Questions about one session live here as methods and properties; operations that change
several rows, or that must be safe under concurrency, live in ``sessions_app.services``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from sessions_app.fields import TagListField
from sessions_app.storage.tracking import MirroredModel, MirroredQuerySet

MIN_DURATION_MINUTES = 15
MAX_DURATION_MINUTES = 480
MIN_CAPACITY = 1
MAX_CAPACITY = 1000
TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 5000
MAX_TAGS = 20
TAG_MAX_LENGTH = 40

# When people may come in, relative to start_time, and when an unattended session is over.
MEMBER_JOIN_LEAD = timedelta(minutes=10)
HOST_JOIN_LEAD = timedelta(minutes=30)
AUTO_END_GRACE = timedelta(minutes=30)
# How long a room page may fall silent (its heartbeat comes every 30 seconds) before its
# user is taken to have gone: a crashed tab or a lost network never says goodbye. Long
# enough for a background tab whose timers the browser throttles to one a minute.
PRESENCE_GRACE = timedelta(minutes=5)


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    LIVE = "live", "Live"
    ENDED = "ended", "Ended"
    CANCELED = "canceled", "Canceled"


class EndReason(models.TextChoices):
    INSTRUCTOR = "instructor", "Ended by the instructor"
    ADMIN = "admin", "Ended by an admin"
    AUTO_OVERDUE = "auto_overdue", "Ended automatically (overdue)"
    NOT_STARTED = "not_started", "Never started"


class RoomStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    DELETED = "deleted", "Deleted"


class RecordingStatus(models.TextChoices):
    NONE = "none", "None"
    RECORDING = "recording", "Recording"
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class TrainingSessionQuerySet(MirroredQuerySet):
    def visible_to(self, user):
        """Sessions the user may see: all for members and above, public ones otherwise."""
        from wwmaa import roles

        return self.visible_to_kind(member=roles.is_member(user))

    def visible_to_kind(self, *, member: bool):
        """``visible_to`` for any member or above (``member``), or anyone else: the rule
        depends on nothing more, so a list's SQL can be compiled once for each kind."""
        return self if member else self.filter(is_public=True)

    def not_archived(self):
        return self.filter(archived_at__isnull=True)

    def upcoming(self, now: datetime | None = None):
        now = now or timezone.now()
        return self.filter(status=SessionStatus.SCHEDULED, start_time__gt=now)

    def overlapping(self, start: datetime, end: datetime):
        """Non-canceled sessions whose time range intersects [start, end)."""
        return self.exclude(status=SessionStatus.CANCELED).filter(
            start_time__lt=end, end_time__gt=start
        )


class TrainingSession(MirroredModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Neither foreign key has an index of its own: the indexes on (event, start_time) and
    # (instructor, start_time) lead with them and serve every lookup by either alone.
    event = models.ForeignKey(
        "events_app.Event",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="training_sessions",
        db_index=False,
    )
    instructor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="training_sessions",
        db_index=False,
    )
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    description = models.TextField(blank=True, max_length=DESCRIPTION_MAX_LENGTH)
    start_time = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(
        validators=[
            MinValueValidator(MIN_DURATION_MINUTES),
            MaxValueValidator(MAX_DURATION_MINUTES),
        ]
    )
    # Derived from start_time + duration_minutes on every save; stored so that the jobs'
    # "30 minutes past the end" and the overlap rule are index range scans.
    end_time = models.DateTimeField(editable=False)
    capacity = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(MIN_CAPACITY), MaxValueValidator(MAX_CAPACITY)],
        help_text="Empty for unlimited.",
    )
    status = models.CharField(
        max_length=16, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED
    )
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=16, choices=EndReason.choices, null=True, blank=True)
    room_id = models.CharField(max_length=200, null=True, blank=True)
    room_url = models.URLField(max_length=500, null=True, blank=True)
    room_status = models.CharField(
        max_length=16, choices=RoomStatus.choices, default=RoomStatus.PENDING
    )
    # The jobs' bookkeeping for the room: how many times the ensure-rooms job has tried to
    # create it, and when a job may next try to create it (or, once the session is over,
    # to retire it). Back-off between attempts lives here, on the row.
    room_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    room_next_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    recording_enabled = models.BooleanField(default=False)
    chat_enabled = models.BooleanField(default=True)
    recording_id = models.CharField(max_length=200, null=True, blank=True)
    recording_status = models.CharField(
        max_length=16, choices=RecordingStatus.choices, default=RecordingStatus.NONE
    )
    recording_url = models.URLField(max_length=1000, null=True, blank=True)
    is_public = models.BooleanField(
        default=False, help_text="Listed on the public event page to visitors."
    )
    members_only = models.BooleanField(default=True, help_text="Only members and above may join.")
    tags = TagListField(default=list, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # Bumped whenever start_time or duration_minutes changes: the SEQUENCE of the session's
    # calendar entry, so calendars replace the old time instead of keeping both.
    schedule_version = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TrainingSessionQuerySet.as_manager()

    class Meta:
        ordering = ["start_time", "title"]
        indexes = [
            models.Index(fields=["status", "start_time"], name="session_status_start_idx"),
            models.Index(fields=["status", "end_time"], name="session_status_end_idx"),
            models.Index(fields=["instructor", "start_time"], name="session_instr_start_idx"),
            models.Index(fields=["event", "start_time"], name="session_event_start_idx"),
            models.Index(fields=["room_status", "start_time"], name="session_room_start_idx"),
            # Webhooks find their session by the provider's room id.
            models.Index(fields=["room_id"], name="session_room_id_idx"),
            # The ensure-rooms job: scheduled sessions with a pending room, by start time.
            models.Index(
                fields=["status", "room_status", "start_time"], name="session_room_due_idx"
            ),
            models.Index(fields=["archived_at"], name="session_archived_idx"),
            # The nightly archive: finished sessions not archived yet (jobs.cleanup).
            models.Index(
                fields=["ended_at"],
                condition=Q(status="ended", archived_at__isnull=True),
                name="session_ended_unarchived_idx",
            ),
            models.Index(
                fields=["canceled_at"],
                condition=Q(status="canceled", archived_at__isnull=True),
                name="session_canceled_unarch_idx",
            ),
            models.Index(fields=["created_at"], name="session_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    duration_minutes__gte=MIN_DURATION_MINUTES,
                    duration_minutes__lte=MAX_DURATION_MINUTES,
                ),
                name="session_duration_range",
            ),
            models.CheckConstraint(
                condition=Q(capacity__isnull=True)
                | Q(capacity__gte=MIN_CAPACITY, capacity__lte=MAX_CAPACITY),
                name="session_capacity_range",
            ),
            models.CheckConstraint(condition=~Q(title=""), name="session_title_not_empty"),
            models.CheckConstraint(
                condition=Q(end_time__gt=models.F("start_time")), name="session_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(status__in=SessionStatus.values), name="session_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(room_status__in=RoomStatus.values), name="session_room_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        if self.start_time is not None and self.duration_minutes is not None:
            self.end_time = self.compute_end_time()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"start_time", "duration_minutes"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "end_time"}
        super().save(*args, **kwargs)

    def compute_end_time(self) -> datetime:
        # In UTC: adding minutes to a local time counts wall-clock time, which is an hour
        # off across a daylight-saving change.
        return self.start_time.astimezone(UTC) + timedelta(minutes=self.duration_minutes)

    # Questions about the session's clock. Each takes the instant to judge at.

    @property
    def join_window_opens_at(self) -> datetime:
        """When members may come in (and the page shows the join button)."""
        return self.start_time - MEMBER_JOIN_LEAD

    @property
    def host_window_opens_at(self) -> datetime:
        """When the instructor and admins may start the session or come in."""
        return self.start_time - HOST_JOIN_LEAD

    @property
    def auto_end_at(self) -> datetime:
        return self.compute_end_time() + AUTO_END_GRACE

    @property
    def is_finished(self) -> bool:
        return self.status in {SessionStatus.ENDED, SessionStatus.CANCELED}

    @property
    def is_room_ready(self) -> bool:
        return self.room_status == RoomStatus.READY


class SessionAttendance(MirroredModel):
    """One person's presence in one session, over every segment they were in the room."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of their own: the unique (session, user) and the (user, joined_at) index
    # lead with them. Every join writes a row here; three indexes to update, not five.
    session = models.ForeignKey(
        TrainingSession, on_delete=models.CASCADE, related_name="attendance", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="attendance",
        db_index=False,
    )
    joined_at = models.DateTimeField(help_text="First join.")
    left_at = models.DateTimeField(
        null=True, blank=True, help_text="Latest leave; empty while present."
    )
    # Start of the segment the user is in now; null while away. Each leave adds the
    # segment to watch_time_seconds, so rejoins accumulate rather than overwrite.
    segment_started_at = models.DateTimeField(null=True, blank=True)
    watch_time_seconds = models.PositiveIntegerField(default=0)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Its bulk writes queue the rows for the ZeroDB mirror (sessions_app.storage).
    objects = MirroredQuerySet.as_manager()

    class Meta:
        ordering = ["joined_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "user"], name="attendance_one_row_per_session_user"
            ),
        ]
        indexes = [models.Index(fields=["user", "joined_at"], name="attendance_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} in {self.session}"

    @property
    def is_present(self) -> bool:
        return self.segment_started_at is not None

    def watch_seconds_at(self, now: datetime) -> int:
        """Watch time including the open segment, counted up to ``counted_until(now)``."""
        total = self.watch_time_seconds
        if self.segment_started_at is not None:
            until = self.counted_until(now)
            if until > self.segment_started_at:
                total += int((until - self.segment_started_at).total_seconds())
        return total

    def counted_until(self, now: datetime) -> datetime:
        """Up to when the open segment counts, judged at ``now``.

        A segment whose room page sent heartbeats (``last_seen_at`` after the segment
        began) and then fell silent for longer than ``PRESENCE_GRACE`` counts up to the
        last heartbeat plus the grace: the tab crashed or lost the network without a
        goodbye. A segment that never had a heartbeat counts up to ``now``: API clients
        and the provider's webhooks report joins and leaves, not presence.
        """
        seen = self.last_seen_at
        if self.segment_started_at is not None and seen and seen > self.segment_started_at:
            return min(now, seen + PRESENCE_GRACE)
        return now


class SessionRegistration(models.Model):
    """A member's RSVP: reminders and a calendar entry, never a seat or a bypass."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: the unique (session, user) leads with it.
    session = models.ForeignKey(
        TrainingSession, on_delete=models.CASCADE, related_name="registrations", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="registrations"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "user"], name="registration_one_per_session_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} registered for {self.session}"


from sessions_app.jobs.models import SessionEmail  # noqa: E402,F401
from sessions_app.rooms.models import RoomCall, RoomParticipant, WebhookDelivery  # noqa: E402,F401
from sessions_app.storage.models import OutboxEntry, RowMapping  # noqa: E402,F401
