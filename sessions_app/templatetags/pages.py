"""Small template helpers for the pages: role questions and instants for scripts."""

from __future__ import annotations

from datetime import datetime

from django import template

from sessions_app.cards import epoch_ms as _epoch_ms
from wwmaa import roles

register = template.Library()


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
