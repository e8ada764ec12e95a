"""The room providers' bookkeeping in the Django admin, read-only and for admins only.

Webhook deliveries (with what each one did), the calls the provider reported and the
participant ids kept per (session, user): what an admin reads when attendance or a
recording looks wrong. Nothing here is edited by hand.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.text import Truncator

from sessions_app.rooms.models import RoomCall, RoomParticipant, WebhookDelivery
from wwmaa.admin_base import AdminsOnlyReadOnly


class _ReadOnlyForAdmins(AdminsOnlyReadOnly):
    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_ReadOnlyForAdmins):
    list_display = ("received_at", "event", "delivery_id", "processed_at", "short_outcome")
    list_filter = ("event", "provider")
    search_fields = ("delivery_id", "outcome")
    date_hierarchy = "received_at"
    ordering = ("-received_at",)

    @admin.display(description="outcome")
    def short_outcome(self, delivery: WebhookDelivery) -> str:
        return Truncator(delivery.outcome).chars(80)


@admin.register(RoomCall)
class RoomCallAdmin(_ReadOnlyForAdmins):
    list_display = ("session", "call_id", "started_at", "ended_at", "end_reason")
    list_select_related = ("session",)
    list_filter = ("end_reason",)
    search_fields = ("call_id", "room_id", "session__title")
    ordering = ("-created_at",)


@admin.register(RoomParticipant)
class RoomParticipantAdmin(_ReadOnlyForAdmins):
    list_display = ("session", "user", "role", "participant_id", "updated_at")
    list_select_related = ("session", "user")
    list_filter = ("role",)
    search_fields = ("participant_id", "user__username", "session__title")
    ordering = ("-updated_at",)
