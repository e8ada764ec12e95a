"""Session cards: what the pages show about each session, for a whole page in one query.

A card is the session plus everything the viewer's page needs to draw it — the
``can_join`` answer, seats left, whether the viewer has registered — and its times in the
event's zone and in the viewer's. The seat counts and the viewer's own seat and
registration come from one annotated query (``sessions_app.api.queries``), so a page of
fifty sessions costs what a page of one does. The status endpoint that the pages poll
answers from the same cards, so a card and its update can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from sessions_app.api.queries import annotate_sessions
from sessions_app.models import SessionStatus, TrainingSession
from sessions_app.services import JoinDecision, Reason, can_join
from wwmaa import roles

# How often the pages ask the status endpoint (seconds); the script adds a little jitter
# so that the pages of a class that opened together do not all ask in the same second.
POLL_SECONDS = 25


@dataclass(frozen=True)
class SessionCard:
    session: TrainingSession
    decision: JoinDecision
    registered: bool
    holds_seat: bool
    event_zone: tzinfo
    viewer_zone: tzinfo
    viewer_is_member: bool
    viewer_teaches: bool

    @property
    def seats_left(self) -> int | None:
        """Free seats, None when the session has no capacity."""
        if self.session.capacity is None:
            return None
        return max(self.session.capacity - self.session.seats_taken, 0)

    @property
    def zones_differ(self) -> bool:
        """Whether the viewer's clock reads another time than the event's at the start."""
        start = self.session.start_time
        return (
            start.astimezone(self.event_zone).utcoffset()
            != start.astimezone(self.viewer_zone).utcoffset()
        )

    @property
    def may_register(self) -> bool:
        """Whether to offer the RSVP button: members, for sessions not over that they do not
        teach (the service has the last word)."""
        return (
            self.viewer_is_member
            and not self.viewer_teaches
            and self.session.status in {SessionStatus.SCHEDULED, SessionStatus.LIVE}
            and self.decision.reason != Reason.TOO_LATE
        )

    @property
    def join_pending(self) -> bool:
        """The join window is still to open: the page shows the button when it does."""
        return self.decision.reason == Reason.TOO_EARLY and self.decision.opens_at is not None

    def status_dict(self) -> dict:
        """The card's state for the status endpoint; instants in milliseconds (UTC)."""
        session, decision = self.session, self.decision
        return {
            "id": str(session.pk),
            "status": session.status,
            "status_label": session.get_status_display(),
            "can_join": decision.can_join,
            "reason": decision.reason,
            "message": decision.message,
            "opens_at": epoch_ms(decision.opens_at),
            "starts_at": epoch_ms(session.start_time),
            "ends_at": epoch_ms(session.end_time),
            "seats_left": self.seats_left,
            "capacity": session.capacity,
        }


def epoch_ms(value: datetime | None) -> int | None:
    """An instant as milliseconds since the epoch, what browsers' clocks count in."""
    return None if value is None else int(value.timestamp() * 1000)


def zone_of(session: TrainingSession) -> tzinfo:
    """The zone a session's times are given in: its event's, else the site's."""
    return session.event.zoneinfo if session.event_id else ZoneInfo(settings.TIME_ZONE)


def visible_sessions(user) -> QuerySet[TrainingSession]:
    """Sessions ``user`` may see, annotated for cards (one query whatever their number)."""
    return annotate_sessions(TrainingSession.objects.visible_to(user), user)


def cards_for(
    sessions: Iterable[TrainingSession], user, *, now: datetime | None = None
) -> list[SessionCard]:
    """Cards for sessions read through ``visible_sessions``; no further query."""
    now = now or timezone.now()
    viewer_zone = timezone.get_current_timezone()
    is_member = roles.is_member(user)
    return [
        SessionCard(
            session=session,
            decision=can_join(
                session,
                user,
                now=now,
                taken=session.seats_taken,
                user_holds_seat=session.caller_holds_seat,
            ),
            registered=session.caller_registered,
            holds_seat=session.caller_holds_seat,
            event_zone=zone_of(session),
            viewer_zone=viewer_zone,
            viewer_is_member=is_member,
            viewer_teaches=roles.owns(user, session),
        )
        for session in sessions
    ]
