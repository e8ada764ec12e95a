from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    verbose_name = "Training sessions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_migrate

        # After the admin's autodiscovery (django.contrib.admin is ready first): limits
        # django-q2's pages to admins and adds the jobs' emails.
        from sessions_app.jobs import admin as jobs_admin  # noqa: F401
        from sessions_app.jobs.schedules import install_after_migrate
        from sessions_app.rooms import checks as room_checks  # noqa: F401

        # Once per migrate (sender is this app), so re-running it never duplicates one.
        post_migrate.connect(
            install_after_migrate, sender=self, dispatch_uid="sessions_app.jobs.schedules"
        )
