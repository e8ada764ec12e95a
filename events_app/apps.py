from django.apps import AppConfig


class EventsAppConfig(AppConfig):
    name = "events_app"
    verbose_name = "Events"
    default_auto_field = "django.db.models.BigAutoField"
