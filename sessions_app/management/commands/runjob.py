"""``manage.py runjob NAME``: run one tick of a background job now and say what it did."""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from sessions_app.tasks import JOBS


def _instant(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(f"--now {value!r} is not an ISO 8601 date and time.") from None
    if timezone.is_naive(parsed):
        raise CommandError(f"--now {value!r} has no UTC offset (e.g. 2026-06-01T16:00:00Z).")
    return parsed


class Command(BaseCommand):
    help = (
        "Run one tick of a background job now and print what it did, e.g. "
        "`reminders: 12 sent, 3 skipped, 0 retrying, 0 failed`. "
        f"Jobs: {', '.join(JOBS)}."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help=f"one of: {', '.join(JOBS)}")
        parser.add_argument(
            "--now",
            help=(
                "judge what is due as of this instant instead of the clock (ISO 8601 with "
                "an offset); for checking by hand"
            ),
        )

    def handle(self, *args, name: str, now: str | None = None, **options):
        job = JOBS.get(name)
        if job is None:
            raise CommandError(f"Unknown job {name!r}; choose one of: {', '.join(JOBS)}.")
        report = job(_instant(now) if now else None)
        self.stdout.write(str(report))
