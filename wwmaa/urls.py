from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from sessions_app import views as session_views
from sessions_app.rooms import views as room_views

urlpatterns = [
    path("", session_views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/webhooks/cloudflare", room_views.cloudflare_webhook, name="cloudflare-webhook"),
]

admin.site.site_header = "WWMAA Live"
admin.site.site_title = "WWMAA Live"
admin.site.index_title = "Live training administration"
