"""Install the every-minute ZeroDB drain schedule (idempotent, keyed by its name)."""

from django.db import migrations


def install(apps, schema_editor):
    from sessions_app.storage.tasks import install_schedule

    install_schedule(apps.get_model("django_q", "Schedule"))


def uninstall(apps, schema_editor):
    from sessions_app.storage.tasks import SCHEDULE_NAME

    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("sessions_app", "0003_zerodb_outbox"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
