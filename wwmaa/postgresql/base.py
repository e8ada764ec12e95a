"""Django's PostgreSQL backend with one change: how ``timestamptz`` values are read.

Django (5.2, psycopg 3) reads every ``timestamptz`` with a loader derived from psycopg's
pure-Python one, so that it can set the ``tzinfo`` it wants; psycopg's compiled loader
(``psycopg[binary]``) cannot be subclassed (Django ticket #36960, psycopg issue #1273).
That costs about 3.5 µs a value: 2.8 ms of the 5 ms it takes to read 200 sessions.

When Django's connection time zone is UTC (``USE_TZ`` with no database ``TIME_ZONE``,
our settings), the connection's ``TimeZone`` is ``UTC`` and psycopg's own loader already
returns instants aware in ``datetime.UTC``: exactly what Django's loader returns. This
backend then reads them with psycopg's loader. Any other time zone keeps Django's.
"""

from __future__ import annotations

import functools
from datetime import UTC

from django.db.backends.postgresql import base
from psycopg import adapters as psycopg_adapters
from psycopg.adapt import AdaptersMap, Loader
from psycopg.pq import Format

TIMESTAMPTZ_OID = psycopg_adapters.types["timestamptz"].oid

# psycopg's registered loader: the compiled one when its C extension is installed.
_PSYCOPG_LOADER = psycopg_adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)


class UTCTimestamptzLoader(Loader):
    """``timestamptz`` as an instant aware in UTC, read by psycopg's own loader.

    ``timezone`` is what Django compares with its connection's time zone before each
    cursor (``create_cursor``): equal, so the loader is kept.
    """

    timezone = UTC

    def __init__(self, oid: int, context=None):
        super().__init__(oid, context)
        # The bound method itself, in place of ``load`` below: each value then costs one
        # call into psycopg's loader, with no Python frame of ours around it.
        self.load = _PSYCOPG_LOADER(oid, context).load  # type: ignore[method-assign]

    def load(self, data):
        """Replaced in ``__init__``; abstract in ``Loader``."""
        raise NotImplementedError


@functools.lru_cache
def utc_adapters(template: AdaptersMap) -> AdaptersMap:
    """Django's adapters with ``UTCTimestamptzLoader`` for ``timestamptz``."""
    adapters = AdaptersMap(template)
    adapters.register_loader(TIMESTAMPTZ_OID, UTCTimestamptzLoader)
    return adapters


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict:
        params = super().get_connection_params()
        if self.timezone is UTC and "context" in params:
            params["context"] = utc_adapters(params["context"])
        return params
