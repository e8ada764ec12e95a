"""Content negotiation: DRF's, answering the common case without parsing anything.

Nearly every API request says nothing of the format it wants (no ``Accept``, or ``*/*``)
or asks for JSON by name. DRF's negotiation parses the header into media types and ranks
them against every renderer on each request, about a twentieth of a refused join; for
those requests its answer is always the view's first renderer, so that is given at once.
Anything else (another type, a list, ``?format=``, a format suffix) goes to DRF.
"""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation


class ContentNegotiation(DefaultContentNegotiation):
    """``DefaultContentNegotiation`` with a shortcut for "anything" and for the first
    renderer's own media type."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if renderers and not format_suffix:
            accept = request.META.get("HTTP_ACCEPT", "*/*")
            first = renderers[0]
            if (accept == "*/*" or accept == first.media_type) and (
                self.settings.URL_FORMAT_OVERRIDE not in request.query_params
            ):
                return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
