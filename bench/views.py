"""Baselines served by the same server as the pages they are compared with.

- ``plain_event`` (P2): a page of the event page's size, from a plain template over
  in-memory data: the same base layout and fifty cards, no database, no per-card logic.
- ``MemorySessions`` (P3): a minimal DRF view answering a session list it keeps in memory
  (the JSON the real list answered, read once from ``BENCH_MEMORY_JSON``).
"""

from __future__ import annotations

import functools
import json
import os

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

CARDS = [
    {
        "id": f"00000000-0000-4000-8000-{i:012d}",
        "title": f"Class {i:02d}",
        "instructor": "Kenji Sato",
        "when": "Tue 2 Jun 2026, 18:00 CEST",
        "iso": "2026-06-02T16:00:00+00:00",
        "minutes": 60,
        "seats": f"{i % 10} of 10 seats left",
        "status": "scheduled",
        "countdown": "Starts in 2 hours",
        "message": "You can join from 10 minutes before the start.",
    }
    for i in range(50)
]


@functools.cache
def _padding(size: int) -> str:
    """Text per card that brings the page to ``size`` bytes."""
    bare = len(render_to_string("bench/plain_event.html", {"cards": CARDS, "pad": ""}))
    return "x" * max(0, (size - bare) // len(CARDS))


def plain_event(request: HttpRequest) -> HttpResponse:
    size = int(request.GET.get("bytes", "0") or 0)
    return render(request, "bench/plain_event.html", {"cards": CARDS, "pad": _padding(size)})


@functools.cache
def _sessions() -> dict:
    with open(os.environ["BENCH_MEMORY_JSON"], encoding="utf-8") as file:
        return json.load(file)


class MemorySessions(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response(_sessions())
