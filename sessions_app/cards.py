"""Session cards: what the pages show about each session, for a whole page in one query.

A card is the session plus everything the viewer's page needs to draw it — the
``can_join`` answer, seats left, whether the viewer has registered — and its times in the
event's zone and in the viewer's. The strings the card template shows (formatted times,
the countdown, the seats line, its links) are worked out here, in Python, once per card:
the template only places them (a page of fifty cards spent most of its time in per-card
filters and ``{% url %}`` tags). The seat counts and the viewer's own seat and
registration come from one annotated query (``sessions_app.api.queries``), so a page of
fifty sessions costs what a page of one does. The status endpoint that the pages poll
answers from the same cards, so a card and its update can never disagree.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connections
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import DateFormat
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.functional import cached_property
from django.utils.html import avoid_wrapping
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import get_language, gettext, ngettext

from events_app.models import Event
from sessions_app.api.listing import CALLER, SessionRow, counted_columns
from sessions_app.api.queries import annotate_sessions
from sessions_app.models import SessionStatus, TrainingSession
from sessions_app.services import JoinDecision, Reason, can_join
from sessions_app.services.eligibility import Caller, caller_id
from wwmaa import roles
from wwmaa.models import display_name_of
from wwmaa.rows import Placeholder, compiled_query

# How often the pages ask the status endpoint (seconds); the script adds a little jitter
# so that the pages of a class that opened together do not all ask in the same second.
POLL_SECONDS = 25


@dataclass(frozen=True)
class SessionCard:
    session: TrainingSession
    decision: JoinDecision
    registered: bool
    holds_seat: bool
    event_zone: tzinfo
    viewer_zone: tzinfo
    viewer_is_member: bool
    viewer_teaches: bool
    page: _Page = dataclass_field(
        default_factory=lambda: _Page(timezone.now()), repr=False, compare=False
    )

    @cached_property
    def texts(self) -> CardTexts:
        """What the card template shows, worked out once (the status endpoint never asks)."""
        return _texts(self, self.page)

    @property
    def seats_left(self) -> int | None:
        """Free seats, None when the session has no capacity."""
        if self.session.capacity is None:
            return None
        return max(self.session.capacity - self.session.seats_taken, 0)

    @property
    def zones_differ(self) -> bool:
        """Whether the viewer's clock reads another time than the event's at the start."""
        start = self.session.start_time
        return (
            start.astimezone(self.event_zone).utcoffset()
            != start.astimezone(self.viewer_zone).utcoffset()
        )

    @property
    def may_register(self) -> bool:
        """Whether to offer the RSVP button: members, for sessions not over that they do not
        teach (the service has the last word)."""
        return (
            self.viewer_is_member
            and not self.viewer_teaches
            and self.session.status in {SessionStatus.SCHEDULED, SessionStatus.LIVE}
            and self.decision.reason != Reason.TOO_LATE
        )

    @property
    def join_pending(self) -> bool:
        """The join window is still to open: the page shows the button when it does."""
        return self.decision.reason == Reason.TOO_EARLY and self.decision.opens_at is not None

    def status_dict(self) -> dict:
        """The card's state for the status endpoint; instants in milliseconds (UTC)."""
        session, decision = self.session, self.decision
        return {
            "id": str(session.pk),
            "status": session.status,
            "status_label": session.get_status_display(),
            "can_join": decision.can_join,
            "reason": decision.reason,
            "message": decision.message,
            "opens_at": epoch_ms(decision.opens_at),
            "starts_at": epoch_ms(session.start_time),
            "ends_at": epoch_ms(session.end_time),
            "seats_left": self.seats_left,
            "capacity": session.capacity,
        }


def epoch_ms(value: datetime | None) -> int | None:
    """An instant as milliseconds since the epoch, what browsers' clocks count in."""
    return None if value is None else int(value.timestamp() * 1000)


def zone_of(session: TrainingSession) -> tzinfo:
    """The zone a session's times are given in: its event's, else the site's."""
    return session.event.zoneinfo if session.event_id else ZoneInfo(settings.TIME_ZONE)


def visible_sessions(user) -> QuerySet[TrainingSession]:
    """Sessions ``user`` may see, annotated for cards (one query whatever their number)."""
    return annotate_sessions(TrainingSession.objects.visible_to(user), user)


# The columns a card and its status read (its own, can_join's, its instructor's name, its
# event's name and zone). Pages of many cards read no others: building and parsing the
# whole rows (timestamps above all) cost more than drawing the cards.
CARD_FIELDS = (
    "id",
    "title",
    "status",
    "start_time",
    "end_time",
    "duration_minutes",
    "capacity",
    "started_at",
    "is_public",
    "members_only",
    "recording_enabled",
    "room_status",
    "instructor__username",
    "instructor__first_name",
    "instructor__last_name",
    "event__title",
    "event__timezone",
)


def card_sessions(user) -> QuerySet[TrainingSession]:
    """``visible_sessions`` with only the columns cards read (``CARD_FIELDS``), for pages
    of many cards; reading another field of these rows would cost a query per row."""
    return visible_sessions(user).only(*CARD_FIELDS)


# The event whose page is drawn, in the event page's compiled query.
EVENT = Placeholder("event")


class _Person:
    """An instructor as a card names them."""

    __slots__ = ("display_name",)

    def __init__(self, display_name: str) -> None:
        self.display_name = display_name


class CardSession(SessionRow):
    """A session as the event page's cards read it (their template, ``SessionCard``,
    ``can_join``), built from a row of values: a model instance, and one for its
    instructor, cost nearly as much as the query (a tenth of the page)."""

    __slots__ = (
        "caller_holds_seat",
        "caller_registered",
        "duration_minutes",
        "event",
        "event_id",
        "instructor",
        "recording_enabled",
        "seats_taken",
        "started_at",
        "title",
    )

    # The values a row holds, in its order: a card's own columns (its event is the page's),
    # then the instructor's id and the counts.
    COLUMNS = (
        *(name for name in CARD_FIELDS if not name.startswith("event__")),
        "instructor_id",
        "seats_taken",
        "caller_holds_seat",
        "caller_registered",
    )

    def get_status_display(self) -> str:
        return _STATUS_LABELS.get(self.status, self.status)


def event_page_sessions(user, event: Event, *, limit: int) -> list[CardSession]:
    """The first ``limit`` sessions of ``event`` that ``user`` may see, archived ones
    left out, by start time then title: what the cards read of them (with the counts of
    ``annotate_sessions``), each given ``event`` itself.

    The query's SQL depends only on whether ``user`` is a member, so it is compiled once
    per connection (``wwmaa.rows.compiled_query``): building and compiling it cost a
    tenth of the page.
    """
    alias = TrainingSession.objects.db
    query = compiled_query(alias, _event_page_query, alias, roles.is_member(user), limit)
    event_id = TrainingSession._meta.get_field("event").get_db_prep_value(
        event.pk, connections[alias]
    )
    people: dict[int, _Person] = {}  # each instructor once, shared by their sessions
    sessions = []
    for row in query.rows({CALLER: caller_id(user), EVENT: event_id}):
        session = CardSession()
        (
            session.pk,
            session.title,
            session.status,
            session.start_time,
            session.end_time,
            session.duration_minutes,
            session.capacity,
            session.started_at,
            session.is_public,
            session.members_only,
            session.recording_enabled,
            session.room_status,
            username,
            first_name,
            last_name,
            session.instructor_id,
            session.seats_taken,
            session.caller_holds_seat,
            session.caller_registered,
        ) = row
        if (person := people.get(session.instructor_id)) is None:
            person = people[session.instructor_id] = _Person(
                display_name_of(first_name, last_name, username)
            )
        session.instructor = person
        session.event, session.event_id = event, event.pk
        sessions.append(session)
    return sessions


def _event_page_query(alias: str, member: bool, limit: int) -> QuerySet:
    quote = connections[alias].ops.quote_name
    opts = TrainingSession._meta
    of_event = f"{quote(opts.db_table)}.{quote(opts.get_field('event').column)} = %s"
    return (
        TrainingSession.objects.using(alias)
        .visible_to_kind(member=member)
        # Only quoted names from the model's meta are formatted in; the id is a parameter.
        .filter(RawSQL(of_event, (EVENT,), output_field=BooleanField()))  # noqa: S611
        .not_archived()
        .annotate(**counted_columns(alias, CALLER))
        .order_by("start_time", "title")
        .values_list(*CardSession.COLUMNS)[:limit]
    )


def cards_for(
    sessions: Iterable[TrainingSession | CardSession], user, *, now: datetime | None = None
) -> list[SessionCard]:
    """Cards for sessions read through ``visible_sessions`` (or ``event_page_sessions``);
    no further query."""
    now = now or timezone.now()
    viewer_zone = timezone.get_current_timezone()
    caller = Caller.of(user)  # the viewer's role, worked out once for all the cards
    page = _Page(now)
    return [
        SessionCard(
            session=session,
            decision=can_join(
                session,
                user,
                now=now,
                taken=session.seats_taken,
                user_holds_seat=session.caller_holds_seat,
                caller=caller,
            ),
            registered=session.caller_registered,
            holds_seat=session.caller_holds_seat,
            event_zone=zone_of(session),
            viewer_zone=viewer_zone,
            viewer_is_member=caller.is_member,
            viewer_teaches=caller.owns(session),
            page=page,
        )
        for session in sessions
    ]


# Not frozen: a frozen dataclass sets each of its twenty fields through
# object.__setattr__, half again as slow to build, fifty times a page.
@dataclass(slots=True)
class CardTexts:
    """The card's strings, as the template used to build them with filters and tags.

    Plain strings (the template escapes them as it did the filters' output); URLs are the
    ones ``{% url %}`` gave.
    """

    shown_zones: str  # data-shown-zones: the event's zone, then the viewer's if it differs
    zones_differ: bool
    start_iso: str  # start_time|utc|date:"c"
    event_time: str  # start_time|timezone:event_zone|date:"D j M Y, H:i T"
    viewer_time: str  # start_time|timezone:viewer_zone|date:"D j M, H:i T" ("" if the same)
    starts_at_ms: str
    ends_at_ms: str
    opens_at_ms: str
    can_join: str  # "true" / "false", for the script
    status_label: str  # session.get_status_display
    seats: str
    countdown: str
    join_label: str
    detail_url: str
    join_url: str
    rsvp_url: str
    withdraw_url: str
    calendar_url: str
    event_url: str
    login_url: str


# A stand-in id: each session URL is reversed once per page with it, then filled per card.
_STAND_IN = uuid.UUID(int=0)
_SESSION_ROUTES = (
    "session-detail",
    "session-join",
    "session-rsvp",
    "session-rsvp-withdraw",
    "session-calendar",
)


class _Page:
    """What the cards of one page share: the instant they were drawn at and, once asked
    for, their URL makers and the names they are written with (in the language active
    for the page)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    @cached_property
    def urls(self) -> dict[str, tuple[str, str]]:
        return _url_makers()

    @cached_property
    def language(self) -> str | None:
        return get_language()


def _url_makers() -> dict[str, tuple[str, str]]:
    """``{route: (before the id, after it)}`` from one ``reverse()`` per route (per page,
    so that the script prefix of the request in progress is the one used)."""
    stand_in = str(_STAND_IN)
    makers = {}
    for name in (*_SESSION_ROUTES, "event-page"):
        url = reverse(name, args=[_STAND_IN])
        before, found, after = url.partition(stand_in)
        if not found:  # pragma: no cover - every one of these routes takes a <uuid:…>
            raise ValueError(f"{name}: no id in {url}")
        makers[name] = (before, after)
    makers["login"] = (reverse("login"), "")
    return makers


def format_local(
    instant: datetime, zone: tzinfo, *, year: bool, language: str | None = None
) -> str:
    """``instant|timezone:zone|date:"D j M Y, H:i T"`` (without `` Y`` unless ``year``),
    without the template machinery: the same translated names and the same zone
    abbreviation (none for a wall time that is ambiguous or does not exist). ``language``
    is the active one, when the caller knows it already."""
    return _format_local(instant, zone, year, language or get_language())


# The same start times are shown on every page that lists them, in few zones and
# languages: each is written once per process.
@functools.lru_cache(maxsize=4096)
def _format_local(instant: datetime, zone: tzinfo, year: bool, language: str | None) -> str:
    local = instant.astimezone(zone)
    weekdays, months = _date_names(language)
    return "{} {} {}{}, {:02d}:{:02d} {}".format(
        weekdays[local.weekday()],
        local.day,
        months[local.month],
        f" {local.year:04d}" if year else "",
        local.hour,
        local.minute,
        DateFormat(local).T(),
    )


@functools.cache
def _date_names(language: str | None) -> tuple[dict[int, str], dict[int, str]]:
    """The ``date`` filter's day and month abbreviations in ``language`` (the active one,
    which the lazy names follow), translated once rather than twice a card."""
    return (
        {day: str(name) for day, name in WEEKDAYS_ABBR.items()},
        {month: str(name).title() for month, name in MONTHS_3.items()},
    )


class _Plural(dict):
    """One of Django's ``timesince`` unit strings ("%(num)d day"/"%(num)d days") in one
    language, put in the plural its number asks for when formatted, as Django's lazy
    string does; each number is translated once (it is kept here), not once a card."""

    def __init__(self, singular: str, plural: str) -> None:
        super().__init__()
        self.singular, self.plural = singular, plural

    def __mod__(self, values: dict[str, int]) -> str:
        number = values["num"]
        text = self.get(number)
        if text is None:
            text = self[number] = ngettext(self.singular, self.plural, number) % values
        return text


@functools.cache
def time_strings(language: str | None) -> dict[str, _Plural]:
    """``django.utils.timesince.TIME_STRINGS`` for ``language`` (the active one): the same
    messages, so the same translations, for ``timesince``/``timeuntil``'s
    ``time_strings``."""
    return {
        "year": _Plural("%(num)d year", "%(num)d years"),
        "month": _Plural("%(num)d month", "%(num)d months"),
        "week": _Plural("%(num)d week", "%(num)d weeks"),
        "day": _Plural("%(num)d day", "%(num)d days"),
        "hour": _Plural("%(num)d hour", "%(num)d hours"),
        "minute": _Plural("%(num)d minute", "%(num)d minutes"),
    }


def _ms_text(value: datetime | None) -> str:
    """``value|epoch_ms`` (``sessions_app.templatetags.pages``)."""
    return "" if value is None else str(epoch_ms(value))


# What get_status_display shows, without building the choices again for every card.
_STATUS_LABELS = dict(SessionStatus.choices)


def _countdown(session: TrainingSession, now: datetime, language: str | None) -> str:
    units = time_strings(language)
    status = session.status
    if status == SessionStatus.LIVE:
        if session.started_at:
            started = timesince(session.started_at, now, time_strings=units)
            return f"Live now · started {started} ago"
        return "Live now"
    if status == SessionStatus.ENDED:
        return "Ended"
    if status == SessionStatus.CANCELED:
        return "Canceled"
    if session.start_time > now:
        return f"Starts in {time_until(session.start_time, now, language)}"
    return "Waiting for the instructor to start"


# Below four weeks no calendar month can be whole, so ``timeuntil`` reckons the span in
# weeks, days, hours and minutes alone.
_UNDER_A_MONTH = 28 * 24 * 60 * 60
_UNITS = (("week", 7 * 24 * 60 * 60), ("day", 24 * 60 * 60), ("hour", 60 * 60), ("minute", 60))


def time_until(when: datetime, now: datetime, language: str | None) -> str:
    """Django's ``timeuntil(when, now)`` in ``language`` (the active one): the same text.

    A span under four weeks, nearly every card's, is worked out here: ``timeuntil`` looks
    up the translation of its ", " on every call, which was half of its time and a
    thirtieth of an event page's. A longer one, reckoned by the calendar, is its own.
    """
    units = time_strings(language)
    delta = when - now
    whole_seconds = delta.days * 24 * 60 * 60 + delta.seconds
    if whole_seconds >= _UNDER_A_MONTH:
        return timeuntil(when, now, time_strings=units)
    parts: list[str] = []
    if whole_seconds > 0:
        remaining = delta.total_seconds()
        for name, length in _UNITS:
            count = int(remaining // length)
            remaining -= length * count
            if count:
                parts.append(avoid_wrapping(units[name] % {"num": count}))
            if parts and (not count or len(parts) == 2):
                break  # two adjacent units at most, as timeuntil's depth of 2
    if not parts:
        return avoid_wrapping(units["minute"] % {"num": 0})
    return _list_separator(language).join(parts)


@functools.cache
def _list_separator(language: str | None) -> str:
    """The ", " between ``timeuntil``'s units, in ``language`` (the active one)."""
    return gettext(", ")


def _seats(card: SessionCard) -> str:
    left, capacity = card.seats_left, card.session.capacity
    if left is None:
        return "Open seating"
    if left == 0:
        return f"Full ({capacity} seats)"
    return f"{left} of {capacity} seats left"


def _texts(card: SessionCard, page: _Page) -> CardTexts:
    session, decision = card.session, card.decision
    urls, language = page.urls, page.language
    start = session.start_time
    zones_differ = card.zones_differ
    pk = str(session.pk)

    def url(name: str, value: str = pk) -> str:
        before, after = urls[name]
        return f"{before}{value}{after}"

    if card.holds_seat:
        join_label = "Back to the room"
    elif session.status == SessionStatus.LIVE:
        join_label = "Join now"
    else:
        join_label = "Join the room"
    return CardTexts(
        shown_zones=(
            f"{card.event_zone} {card.viewer_zone}" if zones_differ else str(card.event_zone)
        ),
        zones_differ=zones_differ,
        start_iso=start.astimezone(UTC).isoformat(),
        event_time=format_local(start, card.event_zone, year=True, language=language),
        viewer_time=(
            format_local(start, card.viewer_zone, year=False, language=language)
            if zones_differ
            else ""
        ),
        starts_at_ms=_ms_text(start),
        ends_at_ms=_ms_text(session.end_time),
        opens_at_ms=_ms_text(decision.opens_at),
        can_join="true" if decision.can_join else "false",
        status_label=_STATUS_LABELS.get(session.status, session.status),
        seats=_seats(card),
        countdown=_countdown(session, page.now, language),
        join_label=join_label,
        detail_url=url("session-detail"),
        join_url=url("session-join"),
        rsvp_url=url("session-rsvp"),
        withdraw_url=url("session-rsvp-withdraw"),
        calendar_url=url("session-calendar"),
        event_url=url("event-page", str(session.event_id)) if session.event_id else "",
        login_url=urls["login"][0],
    )
