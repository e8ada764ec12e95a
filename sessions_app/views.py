"""The site's pages about sessions (SPEC §10): home, one session, "my sessions", status.

Each view checks who asks, reads through ``sessions_app.cards`` (one query for all the
sessions on a page) or calls one service, and renders or redirects. What the pages show
about joining always comes from ``can_join``; the buttons post to small form endpoints
that call the services and come back with the outcome as a message.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from events_app.models import Event
from sessions_app import services
from sessions_app.attendance_export import attendance_csv_rows
from sessions_app.calendar import build_session_ics
from sessions_app.cards import (
    POLL_SECONDS,
    card_sessions,
    cards_for,
    epoch_ms,
    visible_sessions,
)
from sessions_app.models import (
    SessionAttendance,
    SessionRegistration,
    SessionStatus,
    TrainingSession,
)
from sessions_app.rooms import describe_active_provider
from sessions_app.storage import outbox
from wwmaa import roles

# A page lists at most this many sessions; the status endpoint answers at most this many.
PAGE_SESSIONS = 50
HOME_EVENTS = 10
PAST_SESSIONS = 20


def back_to(request: HttpRequest, fallback: str) -> str:
    """Where a form posted from (its ``next`` field, if it is on this site), else ``fallback``."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def live_context(request: HttpRequest, now: datetime) -> dict:
    """What every page with session cards hands its script: the server's clock and where
    to ask for updates."""
    return {
        "now": now,
        "server_now_ms": epoch_ms(now),
        "status_url": reverse("session-status"),
        "poll_seconds": POLL_SECONDS,
        "viewer_zone": timezone.get_current_timezone(),
    }


def _upcoming(user, now: datetime):
    """Live sessions, and scheduled ones not over yet, that ``user`` may see."""
    return (
        card_sessions(user)
        .not_archived()
        .filter(Q(status=SessionStatus.LIVE) | Q(status=SessionStatus.SCHEDULED, end_time__gt=now))
        .order_by("start_time", "title")
    )


@never_cache  # The page carries the server's clock; a cached copy would carry a stale one.
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """``/``: live and upcoming sessions the visitor may see, and the events coming up."""
    now = timezone.now()
    sessions = _upcoming(request.user, now)[:PAGE_SESSIONS]
    events = (
        Event.objects.visible_to(request.user)
        .filter(ends_at__gte=now)
        .order_by("starts_at", "title")[:HOME_EVENTS]
    )
    return render(
        request,
        "home.html",
        {
            "cards": cards_for(sessions, request.user, now=now),
            "events": events,
            **live_context(request, now),
        },
    )


@never_cache
@require_safe
def session_detail(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    """``/sessions/<id>/``: one session's card and description; 404 if it may not be seen."""
    now = timezone.now()
    session = visible_sessions(request.user).filter(pk=session_id).first()
    if session is None:
        raise Http404("Session not found.")
    return render(
        request,
        "sessions_app/session_detail.html",
        {
            "session": session,
            "card": cards_for([session], request.user, now=now)[0],
            "may_run": roles.can_run_session(request.user, session),
            **live_context(request, now),
        },
    )


_UUID = re.compile(r"^[0-9a-fA-F-]{32,36}$")


def _ids(raw: str) -> list[uuid.UUID]:
    """The session ids of a status request; malformed ones name nothing and are dropped."""
    ids = []
    for part in raw.split(",")[:PAGE_SESSIONS]:
        part = part.strip()
        if _UUID.match(part):
            try:
                ids.append(uuid.UUID(part))
            except ValueError:
                continue
    return ids


@never_cache
@require_safe
def session_status(request: HttpRequest) -> JsonResponse:
    """``GET /sessions/status/?ids=a,b,…``: the live state of a page's sessions, for its script.

    One query for all of them. Sessions the viewer may not see are left out, exactly as
    unknown ids are. Instants are milliseconds since the epoch; ``server_now`` lets the
    script measure how far the browser's clock is off.
    """
    now = timezone.now()
    ids = _ids(request.GET.get("ids", ""))
    sessions = card_sessions(request.user).filter(pk__in=ids) if ids else []
    return JsonResponse(
        {
            "server_now": epoch_ms(now),
            "poll_seconds": POLL_SECONDS,
            "sessions": [card.status_dict() for card in cards_for(sessions, request.user, now=now)],
        }
    )


@require_safe
def session_calendar(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    """``/sessions/<id>/calendar.ics``: the session as a calendar entry, for "add to calendar"."""
    session = (
        TrainingSession.objects.visible_to(request.user)
        .select_related("instructor", "event")
        .filter(pk=session_id)
        .first()
    )
    if session is None:
        raise Http404("Session not found.")
    response = HttpResponse(build_session_ics(session), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="session-{session.pk}.ics"'
    return response


def _session_page(session_id) -> str:
    return reverse("session-detail", args=[session_id])


@require_POST
def rsvp(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    """``POST /sessions/<id>/rsvp/``: register ("I'll be there"), then back to the page."""
    if not request.user.is_authenticated:
        return redirect_to_login(_session_page(session_id))
    try:
        _registration, created = services.register(request.user, session_id)
    except services.NotVisible:
        raise Http404("Session not found.") from None
    except services.SessionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            "You are registered: you will get reminders before it starts."
            if created
            else "You were already registered.",
        )
    return redirect(back_to(request, _session_page(session_id)))


@require_POST
def rsvp_withdraw(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    """``POST /sessions/<id>/rsvp/withdraw/``: withdraw the registration."""
    if not request.user.is_authenticated:
        return redirect_to_login(_session_page(session_id))
    try:
        withdrawn = services.unregister(request.user, session_id)
    except services.NotVisible:
        raise Http404("Session not found.") from None
    messages.info(
        request,
        "Your registration is withdrawn." if withdrawn else "You were not registered.",
    )
    return redirect(back_to(request, _session_page(session_id)))


# Instructors.


def _require_instructor(request: HttpRequest) -> None:
    if not roles.is_instructor(request.user):
        raise PermissionDenied("Only instructors have sessions to run.")


@never_cache
@login_required
@require_safe
def my_sessions(request: HttpRequest) -> HttpResponse:
    """``/my/sessions/``: the instructor's sessions, to start and end, with attendance."""
    _require_instructor(request)
    now = timezone.now()
    registered = (
        SessionRegistration.objects.filter(session=OuterRef("pk"))
        .order_by()
        .values("session")
        .annotate(n=Count("pk"))
        .values("n")
    )
    mine = (
        visible_sessions(request.user)
        .filter(instructor=request.user)
        .annotate(
            registrations_count=Coalesce(Subquery(registered, output_field=IntegerField()), 0)
        )
    )
    upcoming = list(
        mine.filter(status__in=[SessionStatus.SCHEDULED, SessionStatus.LIVE]).order_by(
            "start_time"
        )[:PAGE_SESSIONS]
    )
    past = list(
        mine.filter(status__in=[SessionStatus.ENDED, SessionStatus.CANCELED]).order_by(
            "-start_time"
        )[:PAST_SESSIONS]
    )
    attendance = defaultdict(list)
    rows = (
        SessionAttendance.objects.filter(session_id__in=[s.pk for s in upcoming + past])
        .select_related("user")
        .order_by("joined_at", "pk")
    )
    for row in rows:
        attendance[row.session_id].append(
            {
                "row": row,
                "present": row.is_present,
                "watch_minutes": round(row.watch_seconds_at(now) / 60, 1),
                "is_instructor": row.user_id == request.user.pk,
            }
        )

    def rows_for(sessions):
        return [
            {
                "card": card,
                "attendance": attendance.get(card.session.pk, []),
                "present_count": sum(a["present"] for a in attendance.get(card.session.pk, [])),
                "may_start": card.session.status == SessionStatus.SCHEDULED
                and card.session.host_window_opens_at <= now < card.session.end_time,
            }
            for card in cards_for(sessions, request.user, now=now)
        ]

    return render(
        request,
        "sessions_app/my_sessions.html",
        {
            "upcoming": rows_for(upcoming),
            "past": rows_for(past),
            **live_context(request, now),
        },
    )


def _run(request: HttpRequest, session_id: uuid.UUID, operation, done: str) -> HttpResponse:
    """Call a lifecycle service for the instructor's button and come back with its outcome."""
    try:
        session = operation(request.user, session_id)
    except TrainingSession.DoesNotExist:
        raise Http404("Session not found.") from None
    except services.NotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    except services.SessionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done.format(title=session.title))
    return redirect(back_to(request, reverse("my-sessions")))


@login_required
@require_POST
def start(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    """``POST /my/sessions/<id>/start/``: go live (``services.start_session``)."""
    return _run(request, session_id, services.start_session, "“{title}” is live.")


@login_required
@require_POST
def end(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    """``POST /my/sessions/<id>/end/``: end the session (``services.end_session``)."""
    return _run(request, session_id, services.end_session, "“{title}” has ended.")


def _csv(request: HttpRequest, session_ids: list, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        attendance_csv_rows(session_ids, request.user.zoneinfo),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_safe
def session_attendance_csv(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    """``/my/sessions/<id>/attendance.csv``: one session's attendance, for those who may see it."""
    session = get_object_or_404(TrainingSession, pk=session_id)
    if not roles.can_see_attendance(request.user, session):
        raise Http404("Session not found.")
    return _csv(request, [session.pk], f"attendance-{session.pk}.csv")


@login_required
@require_safe
def my_attendance_csv(request: HttpRequest) -> HttpResponse:
    """``/my/sessions/attendance.csv``: the attendance of all the instructor's sessions."""
    _require_instructor(request)
    ids = TrainingSession.objects.filter(instructor=request.user).values_list("pk", flat=True)
    return _csv(request, list(ids), "attendance.csv")


# The site.


def _redacted_url(url: str) -> str:
    """A service URL without its credentials, for showing to staff.

    ``redis://:password@host`` (no user name) is the usual form of a Redis URL; a lone
    ``user@`` may be a password too, for some clients, so it is hidden as well.
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo, host = parts.netloc.rsplit("@", 1)
    user = userinfo.split(":", 1)[0] if ":" in userinfo else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


@never_cache
@login_required
@require_safe
def site_status(request: HttpRequest) -> HttpResponse:
    """``/status/``: which room provider, email backend, job broker and ZeroDB mode are on."""
    if not roles.is_admin(request.user):
        # Admins, the site's staff: instructors are "staff" too, for their admin pages.
        raise PermissionDenied("Staff only.")
    email = settings.EMAIL_BACKEND
    if email.endswith("smtp.EmailBackend"):
        email = f"{email} ({settings.EMAIL_HOST}:{settings.EMAIL_PORT})"
    broker = (
        f"Redis ({_redacted_url(settings.REDIS_URL)})"
        if settings.REDIS_URL
        else "The database (django-q2 ORM broker)"
    )
    zerodb_on = outbox.is_enabled()
    return render(
        request,
        "sessions_app/site_status.html",
        {
            "rows": [
                ("Room provider", describe_active_provider()),
                ("Email backend", email),
                ("Job broker", broker),
                (
                    "ZeroDB mirror",
                    f"On ({settings.ZERODB_API_BASE_URL})" if zerodb_on else "Off",
                ),
                ("Database", settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]),
                ("Site time zone", settings.TIME_ZONE),
            ],
            "backlog": outbox.backlog() if zerodb_on else None,
            "now": timezone.now(),
        },
    )


class LogoutView(auth_views.LogoutView):
    """``/accounts/logout/``: Django's logout (a POST), with a confirmation page on GET.

    Logging out by a plain link would let any other site log our users out, so a GET
    only asks, and the form on that page does it.
    """

    http_method_names = ["get", "post", "options"]
    template_name = "registration/logout_confirm.html"

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect(settings.LOGOUT_REDIRECT_URL)
        return render(request, self.template_name)
