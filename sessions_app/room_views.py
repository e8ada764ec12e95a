"""The room page of a session, and the join and leave forms that lead in and out of it.

``/sessions/<id>/room/`` is where join credentials lead (SPEC §8): on the local provider
the room itself (who is present, the recording, a Leave button); on Cloudflare the
RealtimeKit UI kit, handed a fresh participant token in the page body, never in a URL.
Only someone holding a seat, the session's instructor or an admin sees it.

Each view checks who asks, calls one service and renders or redirects.
"""

from __future__ import annotations

from contextlib import suppress

from csp.decorators import csp_update
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from sessions_app import services
from sessions_app.models import SessionAttendance, TrainingSession
from sessions_app.rooms import RoomRole, active_provider, get_provider
from sessions_app.services.joining import room_credentials, room_role
from sessions_app.views import back_to

CLOUDFLARE_UI_SCRIPT = (
    "https://cdn.jsdelivr.net/npm/@cloudflare/realtimekit-ui@{version}/loader/index.es2017.js"
)
CLOUDFLARE_CORE_SCRIPT = (
    "https://cdn.jsdelivr.net/npm/@cloudflare/realtimekit@{version}/dist/browser.js"
)


def session_page_url(session_id) -> str:
    """The session's page, ``/sessions/<id>/``."""
    return reverse("session-detail", args=[session_id])


def _back(request: HttpRequest, session_id) -> str:
    """Where a form posted from (its ``next`` field, if it is ours), else the session page."""
    return back_to(request, session_page_url(session_id))


def _cloudflare_csp() -> dict[str, list[str]]:
    """What the Cloudflare room page adds to the site's Content-Security-Policy.

    Scripts: exactly the two pinned RealtimeKit packages on the CDN. The call itself
    talks to Cloudflare's signalling and media hosts, which RealtimeKit does not list,
    so connections, images and media may come from any HTTPS host; its components
    style themselves inline.
    """
    version = settings.REALTIMEKIT_UI_VERSION
    packages = [
        f"https://cdn.jsdelivr.net/npm/@cloudflare/realtimekit-ui@{version}/",
        f"https://cdn.jsdelivr.net/npm/@cloudflare/realtimekit@{version}/",
    ]
    return {
        "script-src": packages,
        "style-src": [*packages, "'unsafe-inline'"],
        "font-src": [*packages, "data:"],
        "connect-src": ["https:", "wss:"],
        "img-src": ["https:", "data:", "blob:"],
        "media-src": ["blob:", "mediastream:"],
        "worker-src": ["'self'", "blob:"],
    }


@never_cache  # The page may carry a participant token: no cache may keep it.
@login_required
@require_safe
def room(request: HttpRequest, session_id) -> HttpResponse:
    """``GET /sessions/<id>/room/``: the session's room, for those who hold a seat in it."""
    session = get_object_or_404(TrainingSession.objects.select_related("instructor"), pk=session_id)
    user = request.user
    seat = SessionAttendance.objects.filter(session=session, user=user).first()
    hosts = room_role(session, user) == RoomRole.HOST
    decision = services.can_join(session, user, user_holds_seat=seat is not None)
    context = {
        "session": session,
        "seat": seat,
        "decision": decision,
        "back_url": session_page_url(session.pk),
    }
    if seat is None and not hosts:
        if not services.may_see(user, session):
            raise Http404("Session not found.")
        return render(request, "sessions_app/room.html", {**context, "refused": True}, status=403)

    provider = active_provider()
    context.update(
        provider=provider,
        simulated_recording=get_provider().simulated_recording,
        present=(
            session.attendance.filter(segment_started_at__isnull=False)
            .select_related("user")
            .order_by("joined_at", "pk")
        ),
    )
    if provider == "cloudflare" and seat is not None and not session.is_finished:
        try:
            credentials = room_credentials(user, session.pk)
        except services.SessionError as exc:
            context["room_message"] = exc.message
        else:
            context.update(
                room_token=credentials.token,
                ui_script=CLOUDFLARE_UI_SCRIPT.format(version=settings.REALTIMEKIT_UI_VERSION),
                core_script=CLOUDFLARE_CORE_SCRIPT.format(version=settings.REALTIMEKIT_UI_VERSION),
            )
            return csp_update(_cloudflare_csp())(render)(request, "sessions_app/room.html", context)
    return render(request, "sessions_app/room.html", context)


@require_POST
def join(request: HttpRequest, session_id) -> HttpResponse:
    """``POST /sessions/<id>/join/``: take a seat, then go to the room; or back, told why not."""
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("session-room", args=[session_id]))
    try:
        services.join_session(request.user, session_id)
    except TrainingSession.DoesNotExist:
        raise Http404("Session not found.") from None
    except services.JoinRefused as refused:
        if refused.code == services.Reason.NOT_VISIBLE:
            raise Http404("Session not found.") from None
        messages.error(request, refused.message)
        return redirect(_back(request, session_id))
    # The credentials are not passed on: the room page asks for fresh ones itself, so no
    # token ever travels in a redirect.
    return redirect("session-room", session_id=session_id)


@login_required
@require_POST
def leave(request: HttpRequest, session_id) -> HttpResponse:
    """``POST /sessions/<id>/leave/``: leave the room (the seat is kept), back to the session."""
    try:
        services.leave_session(request.user, session_id)
    except services.Conflict as exc:
        messages.info(request, exc.message)
    else:
        messages.success(request, "You left the room. Your seat is kept if you come back.")
    return redirect(_back(request, session_id))


def _people_in_room(session: TrainingSession, viewer) -> list[dict]:
    """Who is in the room, as the room page lists them."""
    rows = (
        SessionAttendance.objects.filter(session_id=session.pk, segment_started_at__isnull=False)
        .select_related("user")
        .order_by("joined_at", "pk")
    )
    return [
        {
            "name": row.user.display_name,
            "is_instructor": row.user_id == session.instructor_id,
            "is_you": row.user_id == viewer.pk,
        }
        for row in rows
    ]


@never_cache
@require_POST
def presence(request: HttpRequest, session_id) -> JsonResponse:
    """``POST /sessions/<id>/presence/``: the room page's heartbeat, every 30 seconds.

    Answers whether it counted (``present``: false once the user left, here or in another
    tab), the session's status, and who is in the room, so the page can follow along.
    """
    if not request.user.is_authenticated:
        return JsonResponse({"detail": "Log in first.", "code": "login_required"}, status=401)
    counted = services.record_presence(request.user, session_id)
    session = TrainingSession.objects.filter(pk=session_id).first()
    if session is None or not services.may_see(request.user, session):
        raise Http404("Session not found.")
    hosts = room_role(session, request.user) == RoomRole.HOST
    return JsonResponse(
        {
            "present": counted,
            "status": session.status,
            "status_label": session.get_status_display(),
            # Only someone in the room (or hosting it) learns who else is.
            "people": _people_in_room(session, request.user) if counted or hosts else [],
        }
    )


@require_POST
def presence_leave(request: HttpRequest, session_id) -> HttpResponse:
    """``POST /sessions/<id>/presence/leave/``: the page's goodbye (``navigator.sendBeacon``).

    A beacon cannot read an answer, so every outcome is a 204; leaving twice, or without
    a seat, changes nothing. The CSRF token comes in the form body, as a beacon cannot set
    headers.
    """
    if request.user.is_authenticated:
        # Never joined, or another tab's goodbye came first: nothing to close.
        with suppress(services.Conflict):
            services.leave_session(request.user, session_id)
    return HttpResponse(status=204)


# Included under ``sessions/<uuid:session_id>/`` by ``wwmaa.urls``.
urlpatterns = [
    path("room/", room, name="session-room"),
    path("join/", join, name="session-join"),
    path("leave/", leave, name="session-leave"),
    path("presence/", presence, name="session-presence"),
    path("presence/leave/", presence_leave, name="session-presence-leave"),
]
