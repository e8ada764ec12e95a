"""Role and ownership checks of SPEC §1 and §9, as DRF permission classes.

Each class asks ``wwmaa.roles``, where the role ladder lives; none compares role names.
Visibility is not a permission: a session the caller may not see is left out of the
queryset and answers 404 before any of these run on it.
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from wwmaa import roles


class CanCreateSessions(BasePermission):
    message = "Only instructors, board members and admins can create sessions."
    code = "forbidden"

    def has_permission(self, request, view) -> bool:
        return roles.can_create_sessions(request.user)


class CanManageSession(BasePermission):
    """Update and cancel: the owner instructor, board members and admins."""

    message = "Only the session's instructor, board members and admins can change it."
    code = "forbidden"

    def has_object_permission(self, request, view, obj) -> bool:
        return roles.can_manage_session(request.user, obj)


class CanRunSession(BasePermission):
    """Start and end: the owner instructor, or an admin as an override."""

    message = "Only the session's instructor or an admin can start or end it."
    code = "forbidden"

    def has_object_permission(self, request, view, obj) -> bool:
        return roles.can_run_session(request.user, obj)


class CanSeeAttendance(BasePermission):
    message = "Only the session's instructor, board members and admins can see attendance."
    code = "forbidden"

    def has_object_permission(self, request, view, obj) -> bool:
        return roles.can_see_attendance(request.user, obj)
