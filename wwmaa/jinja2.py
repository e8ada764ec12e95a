"""The Jinja2 environment of the templates drawn many times a page (in the apps'
``jinja2/`` folders).

Most of the site is Django templates. A page of fifty session cards spent most of its
time in the Django template engine's per-variable work, so the card is a Jinja2 template
(compiled to Python) that the Django pages place with ``{% session_card %}``
(``sessions_app.templatetags.pages``). This environment makes its output read exactly as
the Django template's did, escaping included.
"""

from __future__ import annotations

import html
from typing import Any

from jinja2 import Environment, StrictUndefined


def escape_as_django(value: Any) -> str:
    """What ``{{ value }}`` writes: the value escaped as Django's ``escape`` does it
    (``'`` becomes ``&#x27;``, where MarkupSafe, Jinja2's own, writes ``&#39;``), unless
    it is already safe HTML (it has ``__html__``: ``Markup``, Django's ``SafeString``)."""
    if type(value) is str:  # most values, and never safe HTML (that is a subclass)
        return html.escape(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def environment(**options: Any) -> Environment:
    """The environment Django's ``Jinja2`` backend builds (``OPTIONS["environment"]``)."""
    # Every {{ value }} goes through finalize, which escapes it (as Django does) unless it
    # is safe HTML, so nothing is written unescaped. Jinja2's own autoescaping is off
    # because it would only go over that escaped text a second time (it took about as
    # long as the rest of the card). What it could do differently fails safe: a filter
    # or a macro that returns plain text is escaped here, at worst once too often.
    # tests/pages/test_jinja2_environment.py holds it to that.
    return Environment(  # noqa: S701 - escaping is finalize's, see above
        **{
            **options,  # from the backend: the loader, auto-reload
            "finalize": escape_as_django,
            "autoescape": False,
            # A misspelt name is an error, not an empty string that goes unnoticed (the
            # backend's default, in production, would be the empty string).
            "undefined": StrictUndefined,
            # Django keeps a template's last newline; so must these, for the same pages.
            "keep_trailing_newline": True,
        }
    )
