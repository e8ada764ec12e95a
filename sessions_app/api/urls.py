"""Every ``/api/`` path of SPEC §9 except the webhook, each answering with or without a
trailing slash (``/api/training/sessions`` as written, ``…/sessions/`` as DRF habit)."""

from __future__ import annotations

from django.urls import re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from events_app.api import EventViewSet
from sessions_app.api.views import TokenObtainView, TokenRefreshView, TrainingSessionViewSet


class OptionalSlashRouter(SimpleRouter):
    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("training/sessions", TrainingSessionViewSet, basename="training-session")
router.register("events", EventViewSet, basename="event")

urlpatterns = [
    re_path(r"^auth/token/?$", TokenObtainView.as_view(), name="token-obtain"),
    re_path(r"^auth/token/refresh/?$", TokenRefreshView.as_view(), name="token-refresh"),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="api-schema"),
    re_path(r"^docs/?$", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    *router.urls,
]
