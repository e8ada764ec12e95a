"""The ZeroDB outbox in the Django admin: backlog, dead letters and their errors.

Read-only but for one action: send dead letters back to the queue after the cause was
fixed. Admins only.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.text import Truncator

from sessions_app.storage import outbox
from sessions_app.storage.models import OutboxEntry, OutboxState, RowMapping
from wwmaa import roles
from wwmaa.admin_base import AdminsOnlyReadOnly

# An entry is never dropped by hand: retry it, or let a later delivery supersede it.
_AdminsOnly = AdminsOnlyReadOnly


@admin.register(OutboxEntry)
class OutboxEntryAdmin(_AdminsOnly):
    list_display = (
        "id",
        "table",
        "object_id",
        "op",
        "state",
        "attempts",
        "next_attempt_at",
        "changed_at",
        "short_error",
    )
    list_filter = ("state", "table", "op")
    search_fields = ("object_id", "last_error")
    ordering = ("-id",)
    actions = ["retry_dead_letters"]
    readonly_fields = [field.name for field in OutboxEntry._meta.fields]

    @admin.display(description="last error")
    def short_error(self, entry: OutboxEntry) -> str:
        return Truncator(entry.last_error).chars(80)

    def has_retry_permission(self, request):
        return roles.is_admin(request.user)

    @admin.action(description="Retry the selected dead letters", permissions=["retry"])
    def retry_dead_letters(self, request, queryset):
        ids = list(queryset.filter(state=OutboxState.DEAD).values_list("pk", flat=True))
        count = outbox.retry_dead(ids)
        self.message_user(request, f"{count} dead letter(s) queued again.", messages.SUCCESS)


@admin.register(RowMapping)
class RowMappingAdmin(_AdminsOnly):
    list_display = ("table", "object_id", "row_id", "synced_at", "needs_lookup", "lease_until")
    list_filter = ("table", "needs_lookup")
    search_fields = ("object_id", "row_id")
    readonly_fields = [field.name for field in RowMapping._meta.fields]
