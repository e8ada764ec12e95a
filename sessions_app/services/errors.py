"""Domain errors with stable codes.

Bad field values raise Django's ``ValidationError`` with a message per field. Everything
else a caller can run into raises one of these: ``code`` is stable for clients and tests,
``message`` is for people, ``extra`` carries details such as the conflicting session.
"""

from __future__ import annotations


class SessionError(Exception):
    """Base class of every refusal by the session services."""

    default_code = "error"

    def __init__(self, message: str, code: str | None = None, **extra):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.extra = extra

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"


class NotAllowed(SessionError):
    """The user's role or ownership does not allow the operation."""

    default_code = "forbidden"


class NotVisible(SessionError):
    """The user may not even see the session; callers answer as if it did not exist."""

    default_code = "not_found"


class LoginRequired(SessionError):
    default_code = "login_required"


class Conflict(SessionError):
    """The session's state (lifecycle, capacity, schedule) does not allow the operation."""

    default_code = "conflict"


class RoomNotReady(SessionError):
    """The video room does not exist and could not be created now."""

    default_code = "room_not_ready"
