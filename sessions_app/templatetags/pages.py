"""Small template helpers for the pages: role questions, instants for scripts, and the
session card."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django import template
from django.template import engines
from django.template.defaulttags import CsrfTokenNode
from django.utils.safestring import SafeString, mark_safe

from sessions_app.cards import SessionCard
from sessions_app.cards import epoch_ms as _epoch_ms
from wwmaa import roles

register = template.Library()

# A Jinja2 template, in sessions_app/jinja2/ (see wwmaa/jinja2.py).
CARDS_TEMPLATE = "sessions_app/session_cards.html"


@register.filter
def epoch_ms(value: datetime | None) -> int | str:
    """An instant as milliseconds since the epoch for a ``data-`` attribute; empty if none."""
    result = _epoch_ms(value)
    return "" if result is None else result


@register.filter
def is_instructor(user) -> bool:
    """Whether the user has sessions to run ("My sessions" in the menu)."""
    return roles.is_instructor(user)


@register.filter
def is_site_staff(user) -> bool:
    """Whether the user may see the status page (admins: instructors are ``is_staff`` too,
    for their admin pages)."""
    return roles.is_admin(user)


@register.simple_tag(takes_context=True)
def session_cards(
    context: template.Context,
    cards: Iterable[SessionCard],
    *,
    heading: str = "h3",
    link_title: bool = False,
    show_event: bool = False,
) -> SafeString:
    """``{% session_cards cards link_title=True %}``: the sessions' cards, one after the
    other, drawn by the Jinja2 template ``sessions_app/session_cards.html`` (a page of
    fifty cards takes a fraction of what the Django template engine took). ``heading`` is
    the titles' element (a literal: "h1", "h2" or "h3"); ``link_title`` links each title
    to the session's page; ``show_event`` names the event."""
    shared = context.render_context.get(CARDS_TEMPLATE)
    if shared is None:
        # What every card of the page shares, worked out once: the page's address (the
        # forms come back to it), its one CSRF token (the one every ``{% csrf_token %}``
        # of the page shows) and whether anyone is logged in.
        shared = context.render_context[CARDS_TEMPLATE] = (
            engines["jinja2"].get_template(CARDS_TEMPLATE),
            {
                "next": context["request"].get_full_path(),
                "csrf_input": CsrfTokenNode().render(context),
                "user_is_authenticated": context["user"].is_authenticated,
            },
        )
    cards_template, page = shared
    values = {
        "cards": cards,
        "heading": heading,
        "link_title": link_title,
        "show_event": show_event,
        **page,
    }
    # The template escapes every value it shows; what it returns is the cards' HTML.
    return mark_safe(cards_template.render(values))  # noqa: S308


@register.simple_tag(takes_context=True)
def session_card(context: template.Context, card: SessionCard, **options: Any) -> SafeString:
    """``{% session_card card heading="h1" %}``: one session's card (``session_cards``)."""
    return session_cards(context, [card], **options)
