"""``sessions_app.cards.format_local``: the card's times as the template filters wrote them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import dateformat

from sessions_app.cards import format_local

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
INSTANTS = [
    datetime(2026, 1, 5, 9, 7, tzinfo=UTC),
    datetime(2026, 6, 30, 23, 59, tzinfo=UTC),
    # Around the autumn change in Berlin and New York: ambiguous wall times have no
    # abbreviation in Django's format; the cards must say the same.
    *(datetime(2026, 10, 25, 0, 0, tzinfo=UTC) + timedelta(minutes=15 * i) for i in range(8)),
    *(datetime(2026, 11, 1, 4, 0, tzinfo=UTC) + timedelta(minutes=15 * i) for i in range(12)),
    datetime(12, 3, 4, 5, 6, tzinfo=UTC),
]


@pytest.mark.parametrize("zone", ZONES)
def test_the_card_times_read_as_the_date_filter_wrote_them(zone):
    tz = ZoneInfo(zone)
    for instant in INSTANTS:
        local = instant.astimezone(tz)
        assert format_local(instant, tz, year=True) == dateformat.format(local, "D j M Y, H:i T")
        assert format_local(instant, tz, year=False) == dateformat.format(local, "D j M, H:i T")
