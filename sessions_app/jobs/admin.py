"""The jobs in the Django admin, for admins only.

django-q2 registers its own pages (schedules, successful and failed tasks, the ORM queue).
Instructors and board members are staff too, so those pages are re-registered here with
the site's role rule: only admins see them, whatever Django permissions a user holds.
Also the emails the jobs sent or could not send, read-only.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.text import Truncator

from sessions_app.jobs.models import SessionEmail
from wwmaa import roles
from wwmaa.admin_base import AdminsOnlyReadOnly


def admins_only(base: type[admin.ModelAdmin]) -> type[admin.ModelAdmin]:
    """``base`` with every permission decided by ``roles.is_admin``.

    Adding stays refused where ``base`` refuses it (django-q2's task lists: tasks are made
    by running them, not by hand).
    """
    base_allows_add = base.has_add_permission is admin.ModelAdmin.has_add_permission

    def has_module_permission(self, request):
        return roles.is_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return roles.is_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return roles.is_admin(request.user)

    def has_delete_permission(self, request, obj=None):
        return roles.is_admin(request.user)

    def has_add_permission(self, request):
        return base_allows_add and roles.is_admin(request.user)

    return type(
        f"AdminsOnly{base.__name__}",
        (base,),
        {
            "__module__": __name__,
            "has_module_permission": has_module_permission,
            "has_view_permission": has_view_permission,
            "has_change_permission": has_change_permission,
            "has_delete_permission": has_delete_permission,
            "has_add_permission": has_add_permission,
        },
    )


def restrict_django_q_admin(site: admin.AdminSite = admin.site) -> None:
    """Re-register django-q2's admin pages so that only admins see them (idempotent)."""
    from django_q.models import Failure, OrmQ, Schedule, Success

    for model in (Schedule, Success, Failure, OrmQ):
        if not site.is_registered(model):
            continue
        current = type(site._registry[model])
        if current.__module__ == __name__:
            continue
        site.unregister(model)
        site.register(model, admins_only(current))


@admin.register(SessionEmail)
class SessionEmailAdmin(AdminsOnlyReadOnly):
    """What the jobs sent, skipped or could not send; a failure stays here with its error."""

    list_display = ("created_at", "kind", "status", "user", "session", "attempts", "error")
    list_filter = ("status", "kind")
    search_fields = ("user__username", "user__email", "session__title")
    list_select_related = ("user", "session")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in SessionEmail._meta.fields]

    @admin.display(description="last error")
    def error(self, obj: SessionEmail) -> str:
        return Truncator(obj.last_error).chars(80)


restrict_django_q_admin()
