"""Small template helpers for the pages: role questions, instants for scripts, and the
session card."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.template import engines
from django.template.defaulttags import CsrfTokenNode
from django.utils.safestring import SafeString, mark_safe

from sessions_app.cards import SessionCard
from sessions_app.cards import epoch_ms as _epoch_ms
from wwmaa import roles

register = template.Library()

# A Jinja2 template, in sessions_app/jinja2/ (see wwmaa/jinja2.py).
CARD_TEMPLATE = "sessions_app/session_card.html"


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
def session_card(
    context: template.Context,
    card: SessionCard,
    *,
    heading: str = "h3",
    link_title: bool = False,
    show_event: bool = False,
) -> SafeString:
    """``{% session_card card link_title=True %}``: one session's card, drawn by the Jinja2
    template ``sessions_app/session_card.html`` (a page of fifty cards spends a fraction of
    what the Django template engine took). ``heading`` is the title's element (a literal:
    "h1", "h2" or "h3"); ``link_title`` links the title to the session's page;
    ``show_event`` names the event."""
    shared = context.render_context.get(CARD_TEMPLATE)
    if shared is None:
        # What every card of the page shares, worked out for the first one: the page's
        # address (the forms come back to it), its one CSRF token (the one every
        # ``{% csrf_token %}`` of the page shows) and whether anyone is logged in.
        shared = context.render_context[CARD_TEMPLATE] = (
            engines["jinja2"].get_template(CARD_TEMPLATE),
            {
                "next": context["request"].get_full_path(),
                "csrf_input": CsrfTokenNode().render(context),
                "user_is_authenticated": context["user"].is_authenticated,
            },
        )
    card_template, page = shared
    values = {
        "card": card,
        "heading": heading,
        "link_title": link_title,
        "show_event": show_event,
        **page,
    }
    # The template escapes every value it shows; what it returns is the card's HTML.
    return mark_safe(card_template.render(values))  # noqa: S308
