"""Event pages (SPEC §10): the list of events and one event with its sessions.

Anonymous visitors see public events and their public sessions; logged-in users what
their role may see (``visible_to``). An event or session that may not be seen is a 404,
never a hint that it exists.
"""

from __future__ import annotations

import uuid

from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from events_app.models import Event
from sessions_app.cards import cards_for, event_page_sessions
from sessions_app.models import SessionStatus
from sessions_app.views import PAGE_SESSIONS, live_context
from wwmaa import roles
from wwmaa.rows import model_rows

PAST_EVENTS = 20


def _with_session_counts(events, user):
    """Each event with how many of its sessions the user may see (archived ones left out)."""
    visible = Q(training_sessions__archived_at__isnull=True)
    if not roles.is_member(user):
        visible &= Q(training_sessions__is_public=True)
    return events.annotate(sessions_count=Count("training_sessions", filter=visible))


@require_safe
def event_list(request: HttpRequest) -> HttpResponse:
    """``/events/``: current and coming events, then the most recent past ones."""
    now = timezone.now()
    events = _with_session_counts(Event.objects.visible_to(request.user), request.user)
    return render(
        request,
        "events_app/event_list.html",
        {
            "current": events.filter(ends_at__gte=now).order_by("starts_at", "title"),
            "past": events.filter(ends_at__lt=now).order_by("-starts_at")[:PAST_EVENTS],
        },
    )


@never_cache  # The page carries the server's clock; a cached copy would carry a stale one.
@require_safe
def event_detail(request: HttpRequest, event_id: uuid.UUID) -> HttpResponse:
    """``/events/<id>/``: the event and every session on it the viewer may see."""
    now = timezone.now()
    # Read with SQL worked out once (wwmaa.rows), at a third of the ORM's cost; an event
    # the viewer may not see is not found, as one that does not exist.
    event = model_rows(Event, Event.objects.db).get(event_id)
    if event is None or not event.is_visible_to(request.user):
        raise Http404("Event not found.")
    sessions = event_page_sessions(request.user, event, limit=PAGE_SESSIONS * 4)
    cards = cards_for(sessions, request.user, now=now)
    # Still to come or happening (a live class overrunning its time included), then over.
    coming, over = [], []
    for card in cards:
        still_on = card.session.status == SessionStatus.LIVE or card.session.end_time > now
        (coming if still_on else over).append(card)
    return render(
        request,
        "events_app/event_detail.html",
        {"event": event, "coming": coming, "over": over, **live_context(request, now)},
    )
