"""Base classes shared by the admin pages of several apps."""

from django.contrib import admin

from wwmaa import roles


class AdminsOnlyReadOnly(admin.ModelAdmin):
    """A record kept by the system (deliveries, outbox, emails): admins look, nobody edits.

    Rows are never added, changed or dropped by hand: the jobs that own them do that.
    """

    def has_module_permission(self, request):
        return roles.is_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return roles.is_admin(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
