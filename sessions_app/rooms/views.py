"""The webhook endpoint: parse the request, call ``sessions_app.webhooks.receive``, answer."""

from __future__ import annotations

import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sessions_app import webhooks
from sessions_app.rooms import (
    RoomProviderError,
    RoomProviderNotSupported,
    WebhookPayloadInvalid,
    WebhookSignatureInvalid,
    WebhookSignatureMissing,
)

logger = logging.getLogger(__name__)

# Cloudflare does not retry a 4xx and retries a 5xx: refusals are 4xx, "try later" is 503.
_REFUSALS: list[tuple[type[RoomProviderError], int, str]] = [
    (WebhookSignatureMissing, 400, "signature_missing"),
    (WebhookSignatureInvalid, 401, "signature_invalid"),
    (WebhookPayloadInvalid, 400, "payload_invalid"),
    (RoomProviderNotSupported, 404, "webhooks_disabled"),
]


@csrf_exempt  # The caller is Cloudflare, not a browser: its signature is the only credential.
@require_POST
def cloudflare_webhook(request: HttpRequest) -> JsonResponse:
    """``POST /api/webhooks/cloudflare``: 200 once verified and stored (handled in a task)."""
    try:
        receipt = webhooks.receive(request.body, request.headers)
    except RoomProviderError as exc:
        for error_class, status, code in _REFUSALS:
            if isinstance(exc, error_class):
                logger.warning("Webhook refused (%s): %s", code, exc)
                return JsonResponse({"code": code, "detail": str(exc)}, status=status)
        logger.error("Webhook could not be accepted now: %s", exc)
        return JsonResponse({"code": "unavailable", "detail": "Try again later."}, status=503)
    return JsonResponse(
        {"received": True, "event": receipt.event, "duplicate": receipt.duplicate}, status=200
    )
