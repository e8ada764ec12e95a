"""The Jinja2 environment of the session card (``wwmaa/jinja2.py``): every value it writes
is escaped exactly as Django's templates escape it, and nothing unescaped gets through."""

from __future__ import annotations

import pytest
from django.template import engines
from django.utils.html import escape
from django.utils.safestring import mark_safe
from jinja2 import UndefinedError
from markupsafe import Markup

HOSTILE = """<script>alert('x')</script> & "quotes" """


def render(source: str, **values) -> str:
    return engines["jinja2"].from_string(source).render(values)


def test_a_value_is_escaped_as_django_escapes_it():
    assert render("<p title='{{ v }}'>{{ v }}</p>", v=HOSTILE) == (
        f"<p title='{escape(HOSTILE)}'>{escape(HOSTILE)}</p>"
    )
    assert "&#x27;" in render("{{ v }}", v=HOSTILE)


@pytest.mark.parametrize(
    "source",
    [
        "{{ v|upper }}",
        "{{ v ~ '!' }}",
        "{{ [v]|join(', ') }}",
        "{{ v|replace('&', '&') }}",
        "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(v) }}",
        "{% set w %}{{ v }}{% endset %}{{ w }}",
    ],
)
def test_what_a_filter_a_macro_or_an_expression_makes_of_a_value_is_escaped_too(source):
    assert "<script>" not in render(source, v=HOSTILE)


def test_safe_html_is_written_as_it_is():
    assert render("{{ a }}{{ b }}", a=mark_safe("<b>"), b=Markup("<i>")) == "<b><i>"


def test_values_that_are_not_text_read_as_in_django_templates():
    assert render("{{ n }} {{ none }} {{ yes }}", n=3, none=None, yes=True) == "3 None True"


def test_a_misspelt_name_is_an_error_not_an_empty_string():
    with pytest.raises(UndefinedError):
        render("{{ tilte }}", title="Kata")


def test_the_last_newline_is_kept_as_django_keeps_it():
    assert render("<p>{{ v }}</p>\n", v="x") == "<p>x</p>\n"
