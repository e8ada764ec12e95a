"""The training-session endpoints of SPEC §9.

Each handler parses, checks access, calls one service and serializes. Order of the checks:
authentication (401), then the session through the caller's visibility (404 for a missing
or hidden session, a non-UUID id included), then role and ownership (403), then the
service, whose refusals ``sessions_app.api.exceptions`` turns into answers.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle
from rest_framework_simplejwt import views as jwt_views

from sessions_app import services
from sessions_app.api import filters, listing, permissions
from sessions_app.api.queries import sessions_for
from sessions_app.api.serializers import (
    AttendanceSerializer,
    CanJoinSerializer,
    ErrorSerializer,
    JoinRefusedSerializer,
    JoinResultSerializer,
    RegistrationSerializer,
    SessionInputSerializer,
    SessionSerializer,
    ValidationErrorSerializer,
    can_join_data,
    decide,
    join_result_data,
)
from sessions_app.attendance_export import attendance_csv_rows
from sessions_app.calendar import build_session_ics
from sessions_app.models import TrainingSession

# --- Throttles ---------------------------------------------------------------------------


class JoinRateThrottle(UserRateThrottle):
    """Joins per user: each one may create a room and issue provider credentials."""

    scope = "join"


class TokenRateThrottle(SimpleRateThrottle):
    """Token requests per client address, logged in or not: guesses at passwords."""

    scope = "token"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


# --- Renderers for the two file downloads -------------------------------------------------


class FileRenderer(renderers.BaseRenderer):
    """Lets content negotiation accept ``?format=csv`` or ``Accept: text/calendar``.

    The views answer these with a ready-made Django response; an error on the way is
    rendered as JSON (see ``FileDownloadMixin``).
    """

    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class CSVRenderer(FileRenderer):
    media_type = "text/csv"
    format = "csv"


class ICSRenderer(FileRenderer):
    media_type = "text/calendar"
    format = "ics"


# --- Schema helpers -----------------------------------------------------------------------

ERROR_DESCRIPTIONS = {
    400: "Invalid input: a list of messages per field.",
    401: "No valid credentials.",
    403: "The caller's role or ownership does not allow this.",
    404: "No such session, or one the caller may not see.",
    409: "The session's state does not allow this; `code` says why.",
    429: "Too many requests; retry after the `Retry-After` header's seconds.",
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Documented error answers; 401 and 429 can happen on every endpoint."""
    return {
        code: OpenApiResponse(
            ValidationErrorSerializer if code == 400 else ErrorSerializer,
            description=ERROR_DESCRIPTIONS[code],
        )
        for code in sorted({*statuses, 401, 429})
    }


SESSION_ID = OpenApiParameter(
    "id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The session's id."
)


def uuid_or_404(value: Any) -> uuid.UUID:
    """An id from the URL; anything that is not a UUID names nothing that exists."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound() from None


# --- The viewset ---------------------------------------------------------------------------

OPEN = [AllowAny]
LOGGED_IN = [IsAuthenticated]


@extend_schema_view(
    list=extend_schema(
        summary="List sessions",
        description="The sessions the caller may see, archived ones left out by default.",
        responses={200: SessionSerializer(many=True), **errors(400)},
    ),
    retrieve=extend_schema(
        summary="A session",
        parameters=[SESSION_ID],
        responses={200: SessionSerializer, **errors(404)},
    ),
    create=extend_schema(
        summary="Create a session",
        description="Instructors, board members and admins; board members and admins may "
        "name another instructor with `instructor_id`.",
        request=SessionInputSerializer,
        responses={201: SessionSerializer, **errors(400, 403, 409)},
    ),
    update=extend_schema(
        summary="Change a session",
        description="The fields sent are changed (PUT and PATCH alike); the rest stay. "
        "Refused for ended and canceled sessions; while live, only title, description and "
        "chat_enabled may change.",
        parameters=[SESSION_ID],
        request=SessionInputSerializer,
        responses={200: SessionSerializer, **errors(400, 403, 404, 409)},
    ),
    partial_update=extend_schema(
        summary="Change some fields of a session",
        parameters=[SESSION_ID],
        request=SessionInputSerializer,
        responses={200: SessionSerializer, **errors(400, 403, 404, 409)},
    ),
    destroy=extend_schema(
        summary="Cancel a session",
        description="Only a scheduled session can be canceled. The row stays, with status "
        "`canceled`, and is returned.",
        parameters=[SESSION_ID],
        responses={200: SessionSerializer, **errors(403, 404, 409)},
    ),
)
class TrainingSessionViewSet(viewsets.GenericViewSet):
    serializer_class = SessionSerializer
    lookup_field = "pk"
    lookup_url_kwarg = "id"
    # Every action names its own permissions; this default only guards against forgetting.
    permission_classes = LOGGED_IN

    def get_permissions(self):
        by_action = {
            "metadata": OPEN,  # OPTIONS describes the endpoint to anyone
            "list": OPEN,
            "retrieve": OPEN,
            "create": [IsAuthenticated, permissions.CanCreateSessions],
            "update": [IsAuthenticated, permissions.CanManageSession],
            "partial_update": [IsAuthenticated, permissions.CanManageSession],
            "destroy": [IsAuthenticated, permissions.CanManageSession],
        }
        if self.action in by_action:
            return [permission() for permission in by_action[self.action]]
        return super().get_permissions()

    @property
    def filterset_class(self):
        if self.action == "upcoming":
            return filters.UpcomingSessionFilter
        if self.action == "list":
            return filters.SessionFilter
        return None

    def get_queryset(self):
        return sessions_for(self.request.user)

    # Actions that hand the session's id to a service: they read the row only to check
    # that the caller may see it and act on it, so they skip the list's per-row counts
    # (whose query costs more to build than to run). A join reads it with its seats.
    ID_ONLY_ACTIONS = frozenset(
        {"update", "partial_update", "destroy", "start", "end", "leave", "registration"}
    )

    def get_object(self) -> TrainingSession:
        """The session through the caller's visibility (404), then the object permissions."""
        pk = uuid_or_404(self.kwargs[self.lookup_url_kwarg])
        user = self.request.user
        if self.action == "join":
            # Read with its seats: the join service decides on this very row.
            session = services.session_with_seats(pk, user)
            if session is None or not services.may_see(user, session):
                raise NotFound()
        else:
            queryset = (
                TrainingSession.objects.visible_to(user)
                if self.action in self.ID_ONLY_ACTIONS
                else self.get_queryset()
            )
            try:
                session = queryset.get(pk=pk)
            except TrainingSession.DoesNotExist:
                raise NotFound() from None
        self.check_object_permissions(self.request, session)
        return session

    def get_serializer_context(self) -> dict[str, Any]:
        # One instant for the whole answer, so every row is judged at the same time.
        return {**super().get_serializer_context(), "now": timezone.now()}

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response) and isinstance(
            getattr(request, "accepted_renderer", None), FileRenderer
        ):
            # An error on the way to a file download is still answered in JSON.
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = request.accepted_renderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    def _input(self, request: Request) -> dict[str, Any]:
        # Partial even for a create: a field left out is "not sent" (the default, or no
        # change), also in a form post, where DRF would otherwise read a missing checkbox
        # as false.
        serializer = SessionInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return serializer.service_input()

    def _session_response(self, session_id, status_code: int = status.HTTP_200_OK) -> Response:
        session = self.get_queryset().get(pk=session_id)
        return Response(self.get_serializer(session).data, status=status_code)

    def _page(self, queryset, serializer_class) -> Response:
        page = self.paginate_queryset(queryset)
        data = serializer_class(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)

    def _session_page(self, queryset, rows=None) -> Response:
        # SessionSerializer's JSON, written from the columns it shows (see ``listing``);
        # a page that is not the last is counted on the sessions alone, without the
        # per-row counts. ``rows``: ``queryset``'s rows when read otherwise than by
        # ``session_values``; ``queryset`` may then be a function that builds it, called
        # only for that count.
        user = self.request.user
        if rows is None:
            rows = listing.session_values(queryset, user)
        page = self.paginator.paginate_queryset(rows, self.request, self, counted=queryset)
        return self.get_paginated_response(listing.represent(page, user, timezone.now()))

    # -- collection --

    def list(self, request: Request) -> Response:
        def visible():
            return TrainingSession.objects.visible_to(request.user)

        # With our one filter backend and no filter named, the list is the filter set's
        # unfiltered one, whose SQL is compiled once (listing.UnfilteredRows); its
        # queryset is built only to count a page that is not the last.
        if self.filter_backends == [filters.FilterBackend] and filters.names_no_filter(
            request, filters.SessionFilter
        ):
            return self._session_page(
                lambda: filters.SessionFilter.unfiltered(visible()),
                rows=listing.UnfilteredRows(request.user),
            )
        return self._session_page(self.filter_queryset(visible()))

    @extend_schema(
        summary="Upcoming sessions",
        description="Scheduled sessions that start in the future, soonest first.",
        responses={200: SessionSerializer(many=True), **errors(400)},
    )
    @action(detail=False, methods=["get"], permission_classes=OPEN)
    def upcoming(self, request: Request) -> Response:
        queryset = TrainingSession.objects.visible_to(request.user).upcoming()
        queryset = queryset.order_by("start_time", "title", "id")
        return self._session_page(self.filter_queryset(queryset))

    def create(self, request: Request) -> Response:
        session = services.create_session(request.user, self._input(request))
        response = self._session_response(session.pk, status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(
            reverse("training-session-detail", args=[session.pk])
        )
        return response

    # -- one session --

    def retrieve(self, request: Request, id: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def update(self, request: Request, id: str) -> Response:
        session = self.get_object()
        services.update_session(request.user, session.pk, self._input(request))
        return self._session_response(session.pk)

    def partial_update(self, request: Request, id: str) -> Response:
        return self.update(request, id)

    def destroy(self, request: Request, id: str) -> Response:
        session = self.get_object()
        services.cancel_session(request.user, session.pk)
        return self._session_response(session.pk)

    @extend_schema(
        summary="Start (go live)",
        description="The owner instructor, or an admin; from 30 minutes before the start "
        "until the end. Creates the video room first if needed.",
        parameters=[SESSION_ID],
        request=None,
        responses={200: SessionSerializer, **errors(403, 404, 409)},
    )
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[IsAuthenticated, permissions.CanRunSession],
    )
    def start(self, request: Request, id: str) -> Response:
        session = self.get_object()
        services.start_session(request.user, session.pk)
        return self._session_response(session.pk)

    @extend_schema(
        summary="End a live session",
        parameters=[SESSION_ID],
        request=None,
        responses={200: SessionSerializer, **errors(403, 404, 409)},
    )
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[IsAuthenticated, permissions.CanRunSession],
    )
    def end(self, request: Request, id: str) -> Response:
        session = self.get_object()
        services.end_session(request.user, session.pk)
        return self._session_response(session.pk)

    @extend_schema(
        summary="May the caller join now?",
        description="The `can_join` answer of SPEC §5 (anonymous callers get `login_required`).",
        parameters=[SESSION_ID],
        responses={200: CanJoinSerializer, **errors(404)},
    )
    @action(detail=True, methods=["get"], url_path="can-join", permission_classes=OPEN)
    def can_join(self, request: Request, id: str) -> Response:
        session = self.get_object()
        return Response(can_join_data(decide(session, request.user)))

    @extend_schema(
        summary="Join",
        description="Takes (or keeps) a seat and returns the room credentials. Refusals "
        "carry the `can_join` reason as `code`: 403 `members_only`; 409 `canceled`, "
        "`ended`, `too_early`, `too_late`, `full`, `room_not_ready`.",
        parameters=[SESSION_ID],
        request=None,
        responses={
            200: JoinResultSerializer,
            403: OpenApiResponse(JoinRefusedSerializer, description="Members only."),
            409: OpenApiResponse(JoinRefusedSerializer, description="Not now; see `code`."),
            **errors(404),
        },
    )
    @action(
        detail=True,
        methods=["post"],
        permission_classes=LOGGED_IN,
        throttle_classes=[*api_settings.DEFAULT_THROTTLE_CLASSES, JoinRateThrottle],
    )
    def join(self, request: Request, id: str) -> Response:
        # The session read for the visibility check is the one the service judges first.
        result = services.join_session(request.user, self.get_object())
        return Response(join_result_data(result))

    @extend_schema(
        summary="Leave",
        description="Closes the caller's open segment in the room; the seat is kept. "
        "409 `not_joined` when the caller never joined.",
        parameters=[SESSION_ID],
        request=None,
        responses={200: AttendanceSerializer, **errors(404, 409)},
    )
    @action(detail=True, methods=["post"], permission_classes=LOGGED_IN)
    def leave(self, request: Request, id: str) -> Response:
        session = self.get_object()
        attendance = services.leave_session(request.user, session.pk)
        attendance.user = request.user
        return Response(
            AttendanceSerializer(attendance, context=self.get_serializer_context()).data
        )

    @extend_schema(
        summary="Register (RSVP)",
        description="Members and above, for scheduled and live sessions. 201 when new, 200 "
        "when the caller was already registered. Never a seat or a right to join.",
        parameters=[SESSION_ID],
        request=None,
        responses={
            201: RegistrationSerializer,
            200: RegistrationSerializer,
            **errors(403, 404, 409),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=LOGGED_IN)
    def registration(self, request: Request, id: str) -> Response:
        session = self.get_object()
        registration, created = services.register(request.user, session.pk)
        return Response(
            RegistrationSerializer(registration).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        summary="Withdraw a registration",
        description="204 whether or not the caller was registered.",
        parameters=[SESSION_ID],
        request=None,
        responses={204: None, **errors(404)},
    )
    @registration.mapping.delete
    def withdraw_registration(self, request: Request, id: str) -> Response:
        # Not through get_object: a registration can be withdrawn even from a session the
        # caller can no longer see; the service answers 404 for the others.
        services.unregister(request.user, uuid_or_404(id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Attendance",
        description="The owner instructor, board members and admins. JSON pages, or with "
        "`?format=csv` a CSV file (a header row, then one row per attendee; times in the "
        "caller's time zone), streamed.",
        parameters=[
            SESSION_ID,
            OpenApiParameter(
                "format",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                enum=["json", "csv"],
                description="csv for a file download.",
            ),
        ],
        responses={
            (200, "application/json"): AttendanceSerializer(many=True),
            (200, "text/csv"): OpenApiTypes.STR,
            **errors(403, 404),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        permission_classes=[IsAuthenticated, permissions.CanSeeAttendance],
        renderer_classes=[renderers.JSONRenderer, CSVRenderer],
    )
    def attendance(self, request: Request, id: str):
        session = self.get_object()
        if isinstance(request.accepted_renderer, CSVRenderer):
            response = StreamingHttpResponse(
                attendance_csv_rows([session.pk], request.user.zoneinfo),
                content_type="text/csv; charset=utf-8",
            )
            response["Content-Disposition"] = f'attachment; filename="attendance-{session.pk}.csv"'
            return response
        rows = session.attendance.select_related("user").order_by("joined_at", "id")
        return self._page(rows, AttendanceSerializer)

    @extend_schema(
        summary="Calendar entry (.ics)",
        description="An iCalendar file with the session; canceled sessions say "
        "STATUS:CANCELLED, and SEQUENCE grows with each reschedule.",
        parameters=[SESSION_ID],
        responses={(200, "text/calendar"): OpenApiTypes.STR, **errors(404)},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="calendar.ics",
        url_name="calendar",
        permission_classes=OPEN,
        renderer_classes=[renderers.JSONRenderer, ICSRenderer],
    )
    def calendar(self, request: Request, id: str) -> HttpResponse:
        session = self.get_object()
        response = HttpResponse(
            build_session_ics(session), content_type="text/calendar; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="session-{session.pk}.ics"'
        return response


# --- Tokens -------------------------------------------------------------------------------


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="Send as `Authorization: Bearer <access>`.")
    refresh = serializers.CharField(help_text="Trade for a new access token at …/refresh.")


class AccessTokenSerializer(serializers.Serializer):
    access = serializers.CharField()


@extend_schema(
    summary="Obtain a token pair",
    description="Username and password in; an access token (15 minutes by default) and a "
    "refresh token out. 401 `no_active_account` for wrong credentials.",
    responses={200: TokenPairSerializer, **errors(400)},
)
class TokenObtainView(jwt_views.TokenObtainPairView):
    """``POST /api/auth/token``, throttled per client address."""

    throttle_classes = [TokenRateThrottle]


@extend_schema(
    summary="Refresh the access token",
    description="401 `token_not_valid` for an expired or forged refresh token.",
    responses={200: AccessTokenSerializer, **errors(400)},
)
class TokenRefreshView(jwt_views.TokenRefreshView):
    """``POST /api/auth/token/refresh``, throttled per client address."""

    throttle_classes = [TokenRateThrottle]
