"""The Django admin for sessions: every change goes through the session services.

Instructors see and change only their own sessions; board members and admins see all.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.utils import timezone

from sessions_app import services
from sessions_app.attendance_export import attendance_csv_rows
from sessions_app.models import SessionAttendance, SessionRegistration, TrainingSession
from sessions_app.services import rooms as room_service
from wwmaa import roles
from wwmaa.models import Role, User

# Form field → service input name.
FORM_TO_INPUT = {
    "event": "event_id",
    "instructor": "instructor_id",
    "title": "title",
    "description": "description",
    "start_time": "start_time",
    "duration_minutes": "duration_minutes",
    "capacity": "capacity",
    "recording_enabled": "recording_enabled",
    "chat_enabled": "chat_enabled",
    "is_public": "is_public",
    "members_only": "members_only",
    "tags_text": "tags",
}
INPUT_TO_FORM = {value: key for key, value in FORM_TO_INPUT.items()}


class TrainingSessionAdminForm(forms.ModelForm):
    tags_text = forms.CharField(
        label="Tags", required=False, help_text="Comma-separated, e.g. kata, beginners."
    )
    actor: User | None = None  # set per request by TrainingSessionAdmin.get_form

    class Meta:
        model = TrainingSession
        fields = [
            "event",
            "instructor",
            "title",
            "description",
            "start_time",
            "duration_minutes",
            "capacity",
            "recording_enabled",
            "chat_enabled",
            "is_public",
            "members_only",
        ]

    @property
    def editing(self) -> bool:
        """Whether the form changes a stored session (not ``instance.pk``: a new session
        already has its UUID before it is saved)."""
        return not self.instance._state.adding

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.editing:
            self.initial["tags_text"] = ", ".join(self.instance.tags or [])
        if "instructor" in self.fields:
            self.fields["instructor"].queryset = User.objects.filter(
                role__in=[Role.INSTRUCTOR, Role.BOARD_MEMBER, Role.ADMIN], is_active=True
            ).order_by("username")

    def _post_clean(self):
        # The model's own validation is replaced by the services' rules (one home for them).
        pass

    def service_input(self) -> dict:
        """The form's values under the services' input names (only changes, on edit)."""
        names = self.changed_data if self.editing else list(self.fields)
        data = {}
        for name in names:
            if name not in FORM_TO_INPUT or name not in self.cleaned_data:
                continue
            value = self.cleaned_data[name]
            if name == "tags_text":
                value = [tag for tag in value.split(",") if tag.strip()]
            data[FORM_TO_INPUT[name]] = value
        return data

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            services.validate_session_input(
                self.actor,
                self.service_input(),
                session=self.instance if self.editing else None,
            )
        except ValidationError as exc:
            # A rule about the whole session (not one field) has no error_dict, and
            # message_dict would raise on it: show it above the form instead.
            if not hasattr(exc, "error_dict"):
                self.add_error(None, exc.messages)
                return cleaned
            for name, errors in exc.message_dict.items():
                field = INPUT_TO_FORM.get(name)
                self.add_error(field if field in self.fields else None, errors)
        except services.SessionError as exc:
            self.add_error(None, exc.message)
        return cleaned


class AttendanceInline(admin.TabularInline):
    model = SessionAttendance
    extra = 0
    can_delete = False
    fields = ("user", "joined_at", "left_at", "watch_time_seconds", "last_seen_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return obj is None or roles.can_see_attendance(request.user, obj)


class RegistrationInline(admin.TabularInline):
    model = SessionRegistration
    extra = 0
    can_delete = False
    fields = ("user", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return obj is None or roles.can_see_attendance(request.user, obj)


class ArchivedFilter(admin.SimpleListFilter):
    title = "archived"
    parameter_name = "archived"

    def lookups(self, request, model_admin):
        return [("no", "Not archived"), ("yes", "Archived")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(archived_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(archived_at__isnull=False)
        return queryset


@admin.register(TrainingSession)
class TrainingSessionAdmin(admin.ModelAdmin):
    form = TrainingSessionAdminForm
    list_display = (
        "title",
        "start_time",
        "duration_minutes",
        "instructor",
        "event",
        "status",
        "room_status",
        "capacity",
    )
    list_filter = ("status", "event", "instructor", "start_time", "room_status", ArchivedFilter)
    list_select_related = ("instructor", "event")
    search_fields = (
        "title",
        "description",
        "instructor__username",
        "instructor__first_name",
        "instructor__last_name",
        "event__title",
    )
    date_hierarchy = "start_time"
    ordering = ("-start_time",)
    inlines = [AttendanceInline, RegistrationInline]
    actions = [
        "start_sessions",
        "end_sessions",
        "cancel_sessions",
        "create_rooms",
        "export_attendance",
    ]
    readonly_fields = (
        "id",
        "end_time",
        "status",
        "started_at",
        "ended_at",
        "canceled_at",
        "end_reason",
        "room_id",
        "room_url",
        "room_status",
        "recording_id",
        "recording_status",
        "recording_url",
        "archived_at",
        "created_at",
        "updated_at",
    )

    # Access: by role and ownership, not by Django's model permissions.

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if roles.is_board_member(request.user):
            return queryset
        return queryset.filter(instructor_id=request.user.pk)

    def has_module_permission(self, request):
        return roles.can_use_admin(request.user)

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return roles.can_use_admin(request.user)
        return roles.can_manage_session(request.user, obj)

    def has_add_permission(self, request):
        return roles.can_create_sessions(request.user)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return roles.can_use_admin(request.user)
        return roles.can_manage_session(request.user, obj) and not obj.is_finished

    def has_delete_permission(self, request, obj=None):
        # Sessions are canceled, never deleted.
        return False

    def get_list_filter(self, request):
        if roles.is_board_member(request.user):
            return self.list_filter
        return tuple(name for name in self.list_filter if name != "instructor")

    def get_fields(self, request, obj=None):
        fields = [*TrainingSessionAdminForm.Meta.fields, "tags_text"]
        if not roles.can_assign_instructor(request.user):
            fields.remove("instructor")
        return [*fields, *self.readonly_fields]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def save_model(self, request, obj, form, change):
        data = form.service_input()
        try:
            if change:
                saved = services.update_session(request.user, obj.pk, data)
            else:
                saved = services.create_session(request.user, data)
        except (services.SessionError, ValidationError) as exc:
            # Rare: the state changed between the form check and the save.
            message = getattr(exc, "message", None) or "; ".join(exc.messages)
            self.message_user(request, f"Not saved: {message}", messages.ERROR)
            raise _SaveAborted from exc
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        # Inlines are read-only; nothing else to save.
        pass

    def construct_change_message(self, request, form, formsets, add=False):
        # The read-only inlines are never saved, so they have no new/changed/deleted
        # objects for the history message to list (reading them would raise).
        return super().construct_change_message(request, form, [], add)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _SaveAborted:
            from django.shortcuts import redirect

            return redirect(request.get_full_path())

    # Lifecycle actions: each calls the same service as the API, one session at a time.

    def _run(self, request, queryset, operation, done: str):
        succeeded = 0
        for session in queryset:
            try:
                operation(request.user, session.pk)
                succeeded += 1
            except services.SessionError as exc:
                self.message_user(request, f"{session.title}: {exc.message}", messages.WARNING)
        if succeeded:
            self.message_user(request, f"{succeeded} session(s) {done}.", messages.SUCCESS)

    @admin.action(description="Start the selected sessions")
    def start_sessions(self, request, queryset):
        self._run(request, queryset, services.start_session, "started")

    @admin.action(description="End the selected sessions")
    def end_sessions(self, request, queryset):
        self._run(request, queryset, services.end_session, "ended")

    @admin.action(description="Cancel the selected sessions")
    def cancel_sessions(self, request, queryset):
        self._run(request, queryset, services.cancel_session, "canceled")

    @admin.action(description="Create the video room now")
    def create_rooms(self, request, queryset):
        def create(actor, session_id):
            session = TrainingSession.objects.get(pk=session_id)
            if session.is_finished:
                raise services.Conflict("The session is over; it needs no room.", "finished")
            room_service.ensure_room(session)

        self._run(request, queryset, create, "have a ready room")

    @admin.action(description="Export attendance (CSV)")
    def export_attendance(self, request, queryset):
        allowed = [s.pk for s in queryset if roles.can_see_attendance(request.user, s)]
        tz = timezone.get_current_timezone()
        response = StreamingHttpResponse(
            attendance_csv_rows(allowed, tz), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="attendance.csv"'
        return response


class _SaveAborted(Exception):
    pass


from sessions_app.rooms import admin as rooms_admin  # noqa: E402,F401
from sessions_app.storage import admin as storage_admin  # noqa: E402,F401
