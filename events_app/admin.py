from django.contrib import admin

from events_app.models import Event
from wwmaa import roles


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """Board members and admins manage events; instructors see them to pick one."""

    list_display = ("title", "starts_at", "ends_at", "timezone", "location", "is_public")
    list_filter = ("is_public",)
    search_fields = ("title", "description", "location")
    date_hierarchy = "starts_at"
    readonly_fields = ("created_at", "updated_at")

    def has_module_permission(self, request):
        return roles.can_use_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return roles.can_use_admin(request.user)

    def has_add_permission(self, request):
        return roles.can_manage_events(request.user)

    def has_change_permission(self, request, obj=None):
        return roles.can_manage_events(request.user)

    def has_delete_permission(self, request, obj=None):
        # Sessions protect their event; an event without sessions may go.
        return roles.can_manage_events(request.user)
