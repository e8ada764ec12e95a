"""``manage.py cloudflare_webhook --url URL``: subscribe our endpoint to RealtimeKit events."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import URLValidator

from sessions_app.rooms import RoomProviderError, WebhookEventKind, active_provider, get_provider


class Command(BaseCommand):
    help = (
        "Register this site's webhook endpoint (e.g. https://live.example/api/webhooks/"
        "cloudflare) with Cloudflare RealtimeKit, for the events the site handles. Run once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url", required=True, help="Public HTTPS address of /api/webhooks/cloudflare."
        )

    def handle(self, *args, url: str, **options) -> None:
        if active_provider() != "cloudflare":
            raise CommandError(
                "Cloudflare is not configured: set CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN "
                "and CLOUDFLARE_CALLS_APP_ID."
            )
        try:
            URLValidator(schemes=["https", "http"])(url)
        except ValidationError:
            raise CommandError(f"--url {url!r} is not an absolute http(s) URL.") from None
        events = [kind.value for kind in WebhookEventKind]
        try:
            webhook_id = get_provider().register_webhook(url, events)
        except RoomProviderError as exc:
            raise CommandError(f"Registering the webhook failed: {exc}") from None
        self.stdout.write(
            self.style.SUCCESS(f"Webhook {webhook_id} registered for {', '.join(events)}.")
        )
