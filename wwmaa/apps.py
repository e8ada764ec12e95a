from django.apps import AppConfig


class WWMAAConfig(AppConfig):
    name = "wwmaa"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from wwmaa import lookups  # noqa: F401  (registers ``__any_of``)
