from django.shortcuts import render
from django.utils import timezone

from sessions_app.models import TrainingSession


def home(request):
    """Upcoming and live sessions the visitor may see, soonest first."""
    now = timezone.now()
    sessions = (
        TrainingSession.objects.visible_to(request.user)
        .not_archived()
        .filter(status__in=["scheduled", "live"], end_time__gt=now)
        .select_related("instructor", "event")
        .order_by("start_time")[:50]
    )
    return render(request, "home.html", {"sessions": sessions, "now": now})
