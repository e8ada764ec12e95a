"""Named questions about what a user's role allows.

Views, services, the admin and templates ask these instead of comparing role strings, so
the role ladder of the specification lives here and nowhere else. Every helper accepts an
anonymous user.
"""

from __future__ import annotations

from wwmaa.models import Role

_RANK = {
    Role.PUBLIC: 0,
    Role.MEMBER: 1,
    Role.INSTRUCTOR: 2,
    Role.BOARD_MEMBER: 3,
    Role.ADMIN: 4,
}


def role_of(user) -> Role | None:
    """The user's effective role, or None for an anonymous visitor."""
    if user is None or not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.ADMIN
    return Role(user.role)


def _at_least(user, role: Role) -> bool:
    actual = role_of(user)
    return actual is not None and user.is_active and _RANK[actual] >= _RANK[role]


def is_member(user) -> bool:
    """A paying member or anyone above: sees everything, may join members-only sessions."""
    return _at_least(user, Role.MEMBER)


def is_instructor(user) -> bool:
    """Instructor or above: may create sessions."""
    return _at_least(user, Role.INSTRUCTOR)


def is_board_member(user) -> bool:
    """Board member or above: may change and cancel any session."""
    return _at_least(user, Role.BOARD_MEMBER)


def is_admin(user) -> bool:
    """Site staff: everything, including start and end of any session."""
    return _at_least(user, Role.ADMIN)


def can_create_sessions(user) -> bool:
    return is_instructor(user)


def can_assign_instructor(user) -> bool:
    """May create or move a session for an instructor other than themselves."""
    return is_board_member(user)


def can_teach(user) -> bool:
    """May be named a session's instructor."""
    return is_instructor(user)


def owns(user, session) -> bool:
    return user is not None and user.is_authenticated and session.instructor_id == user.pk


def can_manage_session(user, session) -> bool:
    """May update and cancel this session."""
    return (is_instructor(user) and owns(user, session)) or is_board_member(user)


def can_run_session(user, session) -> bool:
    """May start and end this session (the owner, or an admin as an override)."""
    return (is_instructor(user) and owns(user, session)) or is_admin(user)


def can_see_attendance(user, session) -> bool:
    return can_manage_session(user, session)


def can_use_admin(user) -> bool:
    return is_instructor(user)


def can_manage_events(user) -> bool:
    return is_board_member(user)


def can_manage_users(user) -> bool:
    return is_admin(user)
