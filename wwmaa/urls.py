from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from events_app import views as event_views
from sessions_app import views as session_views
from sessions_app.rooms import views as room_views

urlpatterns = [
    # The API first: its calls are the busiest requests, and Django tries the patterns in
    # order. No page address starts with api/.
    path("api/webhooks/cloudflare", room_views.cloudflare_webhook, name="cloudflare-webhook"),
    path("api/", include("sessions_app.api.urls")),
    path("", session_views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", session_views.LogoutView.as_view(), name="logout"),
    path("events/", event_views.event_list, name="events"),
    path("events/<uuid:event_id>/", event_views.event_detail, name="event-page"),
    path("sessions/status/", session_views.session_status, name="session-status"),
    path("sessions/<uuid:session_id>/", session_views.session_detail, name="session-detail"),
    path(
        "sessions/<uuid:session_id>/calendar.ics",
        session_views.session_calendar,
        name="session-calendar",
    ),
    path("sessions/<uuid:session_id>/rsvp/", session_views.rsvp, name="session-rsvp"),
    path(
        "sessions/<uuid:session_id>/rsvp/withdraw/",
        session_views.rsvp_withdraw,
        name="session-rsvp-withdraw",
    ),
    path("my/sessions/", session_views.my_sessions, name="my-sessions"),
    path("my/sessions/attendance.csv", session_views.my_attendance_csv, name="my-attendance-csv"),
    path("my/sessions/<uuid:session_id>/start/", session_views.start, name="my-session-start"),
    path("my/sessions/<uuid:session_id>/end/", session_views.end, name="my-session-end"),
    path(
        "my/sessions/<uuid:session_id>/attendance.csv",
        session_views.session_attendance_csv,
        name="session-attendance-csv",
    ),
    path("status/", session_views.site_status, name="site-status"),
    path("healthz", include("wwmaa.health")),
    path("admin/", admin.site.urls),
    path("sessions/<uuid:session_id>/", include("sessions_app.room_views")),
]

# Unknown addresses under /api/ answer JSON like the API's own 404s.
handler404 = "sessions_app.api.exceptions.not_found"

admin.site.site_header = "WWMAA Live"
admin.site.site_title = "WWMAA Live"
admin.site.index_title = "Live training administration"
