"""The site's URLs plus the baselines some figures compare against (see ``bench.views``)."""

from django.urls import path

from bench import views
from wwmaa.urls import handler404, urlpatterns

urlpatterns = [
    *urlpatterns,
    path("bench/plain-event/", views.plain_event, name="bench-plain-event"),
    path("bench/memory-sessions", views.MemorySessions.as_view(), name="bench-memory-sessions"),
]

__all__ = ["handler404", "urlpatterns"]
