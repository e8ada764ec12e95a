"""``/healthz``: the process is up and answering. No database, no template, no session.

For load balancers and for the join-storm benchmark (``bench/p4_join_storm.py``), which
measures join latency against this, the cheapest answer the stack can give.
"""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


# Included by wwmaa/urls.py at ``healthz``.
urlpatterns = [path("", healthz, name="healthz")]
