"""The session domain's operations. Views, the admin and jobs call these, nothing else."""

from sessions_app.services.eligibility import (
    JoinDecision,
    Reason,
    can_join,
    may_see,
    session_with_seats,
)
from sessions_app.services.errors import (
    Conflict,
    LoginRequired,
    NotAllowed,
    NotVisible,
    RoomNotReady,
    SessionError,
)
from sessions_app.services.joining import (
    JoinRefused,
    JoinResult,
    join_session,
    leave_session,
    record_presence,
)
from sessions_app.services.lifecycle import (
    cancel_session,
    create_session,
    end_session,
    finish_session,
    start_session,
    update_session,
    validate_session_input,
)
from sessions_app.services.registrations import register, unregister

__all__ = [
    "Conflict",
    "JoinDecision",
    "JoinRefused",
    "JoinResult",
    "LoginRequired",
    "NotAllowed",
    "NotVisible",
    "Reason",
    "RoomNotReady",
    "SessionError",
    "can_join",
    "cancel_session",
    "create_session",
    "end_session",
    "finish_session",
    "join_session",
    "leave_session",
    "may_see",
    "record_presence",
    "register",
    "session_with_seats",
    "start_session",
    "unregister",
    "update_session",
    "validate_session_input",
]
