"""The card's texts (``sessions_app.cards``) as the template filters wrote them: its times
(``format_local``) and its countdown (Django's ``timeuntil``/``timesince`` with the cards'
unit strings, and ``time_until``, which works out spans under four weeks itself)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template.defaultfilters import timesince_filter, timeuntil_filter
from django.utils import dateformat, translation
from django.utils.timesince import timesince, timeuntil

from sessions_app.cards import format_local, time_strings, time_until

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


# From a minute to years, around each unit's edges, singular and plural.
SPANS = [
    timedelta(minutes=m, hours=h, days=d)
    for m in (0, 1, 2, 59)
    for h in (0, 1, 2, 23)
    for d in (0, 1, 2, 6, 7, 8, 14, 30, 31, 45, 364, 365, 366, 800)
]


@pytest.mark.parametrize("language", ["en-us", "de", "pl"])
def test_the_countdown_reads_as_the_timeuntil_and_timesince_filters_wrote_it(language):
    now = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)
    with translation.override(language):
        units = time_strings(translation.get_language())
        for span in SPANS:
            ahead, behind = now + span, now - span
            assert timeuntil(ahead, now, time_strings=units) == timeuntil_filter(ahead, now)
            assert timesince(behind, now, time_strings=units) == timesince_filter(behind, now)


# Seconds and microseconds on either side of each unit's edge, and of four weeks, where
# time_until hands over to timeuntil; a start on the 31st, so that months differ in length.
EDGES = [
    base + timedelta(microseconds=micro)
    for base in (
        timedelta(0),
        timedelta(seconds=1),
        timedelta(seconds=59),
        timedelta(minutes=1),
        timedelta(hours=1) - timedelta(seconds=1),
        timedelta(days=1),
        timedelta(days=7) - timedelta(seconds=1),
        timedelta(days=7, minutes=1),
        timedelta(days=13, hours=23, minutes=59, seconds=59),
        timedelta(days=27, hours=23, minutes=59, seconds=59),
        timedelta(days=28),
        timedelta(days=29, hours=1),
    )
    for micro in (0, 1, 999_999)
]


# Arabic and Chinese translate timeuntil's ", " as well.
@pytest.mark.parametrize("language", ["en-us", "de", "pl", "ar", "zh-hans"])
@pytest.mark.parametrize(
    "now",
    [datetime(2026, 6, 1, 16, 0, tzinfo=UTC), datetime(2027, 1, 31, 23, 59, 30, 500, tzinfo=UTC)],
    ids=str,
)
def test_time_until_writes_what_timeuntil_writes(language, now):
    with translation.override(language):
        current = translation.get_language()
        units = time_strings(current)
        for span in [*SPANS, *EDGES]:
            when = now + span
            assert time_until(when, now, current) == timeuntil(when, now, time_strings=units), span
            # The same instants seen from another zone: the same span, the same text.
            seen = now.astimezone(ZoneInfo("Asia/Kolkata"))
            assert time_until(when, seen, current) == timeuntil(when, now, time_strings=units)
