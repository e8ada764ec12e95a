from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from wwmaa import roles
from wwmaa.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Accounts are managed by admins only; ``is_staff`` follows the role on save."""

    list_display = ("username", "email", "first_name", "last_name", "role", "timezone", "is_active")
    list_filter = ("role", "is_active")
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Association", {"fields": ("role", "timezone")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        ("Association", {"fields": ("email", "role", "timezone")}),
    )
    readonly_fields = ("is_staff", "last_login", "date_joined")

    def has_module_permission(self, request):
        return roles.can_manage_users(request.user)

    def has_view_permission(self, request, obj=None):
        return roles.can_manage_users(request.user)

    def has_add_permission(self, request):
        return roles.can_manage_users(request.user)

    def has_change_permission(self, request, obj=None):
        return roles.can_manage_users(request.user)

    def has_delete_permission(self, request, obj=None):
        return roles.can_manage_users(request.user)
