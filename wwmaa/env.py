"""Typed readers for configuration taken from the environment.

Each helper fails loudly with the variable's name when a value cannot be understood, so a
typo in production configuration stops the process at start-up instead of being guessed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "", environ: Mapping[str, str] | None = None) -> str:
    """Return the variable as a string, stripped, or ``default`` when it is unset."""
    environ = os.environ if environ is None else environ
    value = environ.get(name)
    return default if value is None else value.strip()


def env_bool(name: str, default: bool = False, environ: Mapping[str, str] | None = None) -> bool:
    """Return the variable as a boolean; anything but a clear yes/no is an error."""
    environ = os.environ if environ is None else environ
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean; use one of: 1, 0, true, false, yes, no, on, off."
    )


def env_int(
    name: str,
    default: int,
    environ: Mapping[str, str] | None = None,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """Return the variable as an integer within the given bounds."""
    environ = os.environ if environ is None else environ
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum of {minimum}.")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={value} is above the maximum of {maximum}.")
    return value


def env_list(
    name: str, default: list[str] | None = None, environ: Mapping[str, str] | None = None
) -> list[str]:
    """Return a comma-separated variable as a list of non-empty, stripped items."""
    environ = os.environ if environ is None else environ
    raw = environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_timezone(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    """Return the variable as a valid IANA time zone name.

    Checked against the same list as ``wwmaa.models.validate_timezone_name``: the site's
    zone is the default of every user's and event's zone, so a name ``ZoneInfo`` happens
    to open (a directory such as "America" raises IsADirectoryError; "posixrules" opens)
    but the model refuses would make every user and event form invalid.
    """
    from zoneinfo import available_timezones

    value = env_str(name, default, environ)
    if value not in available_timezones():
        raise ImproperlyConfigured(
            f"{name}={value!r} is not an IANA time zone name (e.g. America/Los_Angeles)."
        )
    return value
