"""Event endpoints of SPEC §9: the logged-in list and detail, and the public event page.

An event's ``training_sessions`` are the ones the caller may see (only public ones on the
public endpoint, whoever asks), archived ones left out, each with ``can_join`` for the
caller; they come in one extra query whatever their number.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from events_app.models import Event
from sessions_app.api.queries import annotate_sessions
from sessions_app.api.serializers import SessionSerializer, UTCModelSerializer
from sessions_app.api.views import errors, uuid_or_404
from sessions_app.models import TrainingSession


class EventSerializer(UTCModelSerializer):
    class Meta:
        model = Event
        fields = [
            "id",
            "title",
            "description",
            "starts_at",
            "ends_at",
            "timezone",
            "location",
            "is_public",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class EventDetailSerializer(EventSerializer):
    training_sessions = SessionSerializer(many=True, read_only=True, source="api_sessions")

    class Meta(EventSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "training_sessions"]
        read_only_fields = fields


def with_sessions(events: QuerySet[Event], sessions: QuerySet[TrainingSession], user):
    """Attach ``api_sessions`` (annotated for ``SessionSerializer``) to each event."""
    sessions = annotate_sessions(sessions.not_archived(), user).order_by(
        "start_time", "title", "id"
    )
    return events.prefetch_related(Prefetch("training_sessions", sessions, to_attr="api_sessions"))


EVENT_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(
        summary="List events",
        description="All events for members and above; public ones for other accounts.",
        responses={200: EventSerializer(many=True), **errors(400)},
    ),
    retrieve=extend_schema(
        summary="An event with its sessions",
        parameters=[EVENT_ID],
        responses={200: EventDetailSerializer, **errors(404)},
    ),
)
class EventViewSet(viewsets.GenericViewSet):
    serializer_class = EventSerializer
    permission_classes = [IsAuthenticated]
    lookup_url_kwarg = "id"

    def get_queryset(self) -> QuerySet[Event]:
        return Event.objects.visible_to(self.request.user).order_by("starts_at", "title", "id")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def _detail(self, events: QuerySet[Event], sessions: QuerySet[TrainingSession], id: str):
        event = (
            with_sessions(events, sessions, self.request.user).filter(pk=uuid_or_404(id)).first()
        )
        if event is None:
            raise NotFound()
        return Response(EventDetailSerializer(event, context=self.get_serializer_context()).data)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, id: str) -> Response:
        visible_sessions = TrainingSession.objects.visible_to(request.user)
        return self._detail(self.get_queryset(), visible_sessions, id)

    @extend_schema(
        summary="A public event with its public sessions",
        description="For anyone, logged in or not. Events that are not public answer 404.",
        parameters=[EVENT_ID],
        responses={200: EventDetailSerializer, **errors(404)},
    )
    @action(
        detail=False,
        methods=["get"],
        url_path=r"public/(?P<id>[^/.]+)",
        url_name="public",
        permission_classes=[AllowAny],
    )
    def public(self, request: Request, id: str) -> Response:
        return self._detail(
            Event.objects.public(), TrainingSession.objects.filter(is_public=True), id
        )
