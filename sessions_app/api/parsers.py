"""Request body parsing that answers every unreadable body with a 400.

DRF's own JSON parser turns a ``ValueError`` into a 400 but lets a deeply nested document
(``[[[[…``, a ``RecursionError`` in ``json``) through as a 500. (The body's size is capped
before any parser runs, by Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``.)
"""

from __future__ import annotations

import codecs

from django.conf import settings
from rest_framework import exceptions, parsers
from rest_framework.settings import api_settings
from rest_framework.utils import json


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(stream.read(), encoding)
            constant = json.strict_constant if api_settings.STRICT_JSON else None
            return json.loads(text, parse_constant=constant)
        except (ValueError, RecursionError, LookupError) as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
