"""The session engine: Django's database sessions, read more cheaply.

Every page of a logged-in user reads its session. Django reads it with ``objects.get``,
whose query cost more to build than the database took to answer (half a millisecond, a
twentieth of an event page); this store reads the same row with SQL worked out once
(``wwmaa.rows``) and applies the same rule: a session past its expiry date is no session.
Writing, expiry and ``clearsessions`` are Django's.
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.core.exceptions import ValidationError
from django.db import router
from django.utils import timezone

from wwmaa.rows import model_rows


class SessionStore(db.SessionStore):
    """Django's ``db.SessionStore``, with its row read by ``ModelRows``."""

    def _get_session_from_db(self):
        try:
            session = model_rows(self.model, router.db_for_read(self.model)).get(
                self.session_key, field="session_key"
            )
        except ValidationError:  # a cookie no session key can be (too long)
            session = None
        if session is None or session.expire_date <= timezone.now():
            self._session_key = None
            return None
        return session
