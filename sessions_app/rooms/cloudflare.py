"""Rooms on Cloudflare Realtime (RealtimeKit), per ``shared/contracts/cloudflare.md``.

A room is a RealtimeKit *meeting*; joining adds the user as a *participant* with a
*preset* (host or participant) and hands the browser the participant's token, which only
ever travels in a response body to our own room page, never in a URL.

Every call goes through one ``requests.Session`` with a default timeout and Bearer auth,
and through ``_call``, which parses both error envelopes and applies the retry policy:

* retried: connection errors, timeouts, 408, 409, 429, 500, 502, 503, 504, at most
  ``MAX_RETRIES`` times; the wait is ``Retry-After`` when given and at most 60 s, else
  exponential back-off (1, 2, 4 … s, capped at 8 s) with jitter;
* not retried: any other 4xx (401/403 raise ``RoomProviderInvalidCredentials``, others
  ``RoomProviderRejected``) and a 2xx whose body says ``"success": false``;
* requests that are not safe to repeat (create meeting, add participant, start recording,
  register webhook) are repeated only when they surely never reached Cloudflare (the
  connection could not be opened) or Cloudflare answered that it did not apply them
  (408, 409, 429, 500, 502, 503). After a timeout or a dropped connection with no answer,
  or a 504 from the gateway, the outcome is unknown: see ``_call`` for what happens then.

The API token lives only in the session's auth object; it is never formatted into a
message, a log line or a ``repr``, and Cloudflare's error texts are scrubbed of it too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import urllib3.exceptions
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from django.core.cache import cache
from django.utils.dateparse import parse_datetime

from sessions_app.models import RecordingStatus
from sessions_app.rooms.base import (
    JoinCredentials,
    Recording,
    Room,
    RoomInfo,
    RoomProvider,
    RoomProviderError,
    RoomProviderInvalidCredentials,
    RoomProviderRejected,
    RoomProviderUnavailable,
    RoomRole,
    WebhookEvent,
    WebhookEventKind,
    WebhookPayloadInvalid,
    WebhookSignatureInvalid,
    WebhookSignatureMissing,
    room_page_url,
)

logger = logging.getLogger(__name__)

# (connect, read) seconds. Connecting is quick or broken; RealtimeKit answers in well
# under a second, so a read that takes 15 s is a failure worth retrying.
DEFAULT_TIMEOUT = (5.0, 15.0)
MAX_RETRIES = 3
RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
# A 504 means the gateway gave up waiting for RealtimeKit, which may have done the work.
NO_ANSWER_STATUSES = frozenset({504})
MAX_RETRY_AFTER_SECONDS = 60.0
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 8.0

WEBHOOK_EVENTS = [kind.value for kind in WebhookEventKind]
WEBHOOK_NAME = "WWMAA Live"
WELL_KNOWN_KEY_URL = "https://api.realtime.cloudflare.com/.well-known/webhooks.json"
KEY_CACHE_KEY = "rooms:cloudflare:webhook-public-key"
KEY_CACHE_SECONDS = 24 * 3600
# A failed verification may mean Cloudflare rotated its key, so the key is fetched again,
# but not more often than this: forged requests must not turn us into a fetch loop.
KEY_REFETCH_GUARD_KEY = "rooms:cloudflare:webhook-public-key-refetched"
KEY_REFETCH_INTERVAL_SECONDS = 300

ERROR_DETAIL_MAX_CHARS = 300

RECORDING_STATUSES = {
    "INVOKED": RecordingStatus.RECORDING,
    "RECORDING": RecordingStatus.RECORDING,
    "PAUSED": RecordingStatus.RECORDING,
    "UPLOADING": RecordingStatus.PROCESSING,
    "UPLOADED": RecordingStatus.READY,
    "ERRORED": RecordingStatus.FAILED,
}


def recording_status(provider_status: str) -> str:
    """Our ``RecordingStatus`` for a RealtimeKit recording status; "" when unknown."""
    return RECORDING_STATUSES.get(provider_status.upper(), "") if provider_status else ""


class _BearerAuth(requests.auth.AuthBase):
    """Adds the API token to each API request; its repr never shows the token."""

    def __init__(self, token: str):
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(<redacted>)"


def _never_reached_server(exc: requests.RequestException) -> bool:
    """True when the request surely was not sent: the connection itself failed."""
    if isinstance(exc, requests.ConnectTimeout | requests.exceptions.SSLError):
        return True
    if isinstance(exc, requests.ConnectionError) and exc.args:
        reason = getattr(exc.args[0], "reason", None)
        # Refused, unreachable or a name that does not resolve: nothing went out.
        return isinstance(reason, urllib3.exceptions.NewConnectionError)
    return False


def _parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (either form the header allows), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(seconds, 0.0)


def _json_object(response: requests.Response) -> dict[str, Any] | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _envelope_error(payload: dict[str, Any] | None) -> tuple[int | str | None, str]:
    """The (code, message) of either error envelope; (None, "") when there is none.

    RealtimeKit: ``{"success": false, "error": {"code", "message"}}``. The general API
    gateway (bad token, global rate limit): ``{"success": false, "errors": [{...}]}``.
    """
    if not payload:
        return None, ""
    error = payload.get("error")
    if isinstance(error, dict):
        return error.get("code"), str(error.get("message") or "")
    if isinstance(error, str):
        return None, error
    errors = payload.get("errors")
    if isinstance(errors, list):
        entries = [e for e in errors if isinstance(e, dict)]
        if entries:
            message = "; ".join(str(e.get("message") or "") for e in entries if e.get("message"))
            return entries[0].get("code"), message
    return None, ""


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is not None and parsed.tzinfo is None:
        # RealtimeKit sends UTC; a bare timestamp is read as UTC rather than local time.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class CloudflareRoomProvider(RoomProvider):
    """The RealtimeKit provider. Settings supply every argument left as None.

    ``sleep`` and ``rng`` are there for tests (no real waits, predictable jitter);
    ``session`` lets a caller share a ``requests.Session``.
    """

    name = "cloudflare"

    def __init__(
        self,
        *,
        account_id: str | None = None,
        api_token: str | None = None,
        app_id: str | None = None,
        base_url: str | None = None,
        host_preset: str | None = None,
        participant_preset: str | None = None,
        webhook_public_key: str | None = None,
        webhook_key_url: str = WELL_KNOWN_KEY_URL,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        max_retries: int = MAX_RETRIES,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        session: requests.Session | None = None,
    ):
        account_id = account_id if account_id is not None else settings.CLOUDFLARE_ACCOUNT_ID
        api_token = api_token if api_token is not None else settings.CLOUDFLARE_API_TOKEN
        app_id = app_id if app_id is not None else settings.CLOUDFLARE_CALLS_APP_ID
        if not (account_id and api_token and app_id):
            raise RoomProviderInvalidCredentials(
                "Cloudflare is not configured: set CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN "
                "and CLOUDFLARE_CALLS_APP_ID."
            )
        base_url = (base_url or settings.CLOUDFLARE_API_BASE_URL).rstrip("/")
        self.account_id = account_id
        self.app_id = app_id
        self.api_root = f"{base_url}/accounts/{account_id}/realtime/kit/{app_id}"
        self.host_preset = host_preset or settings.CLOUDFLARE_HOST_PRESET
        self.participant_preset = participant_preset or settings.CLOUDFLARE_PARTICIPANT_PRESET
        configured_key = (
            webhook_public_key
            if webhook_public_key is not None
            else settings.CLOUDFLARE_WEBHOOK_PUBLIC_KEY
        )
        # Environment variables are one line: accept a PEM whose newlines were written "\n".
        self._configured_key = configured_key.replace("\\n", "\n").strip() or None
        self.webhook_key_url = webhook_key_url
        self._token = api_token
        self._auth = _BearerAuth(api_token)
        self._timeout = timeout
        self._max_retries = max_retries
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._session = session or requests.Session()
        self._session.headers.update({"Accept": "application/json"})

    def __repr__(self) -> str:
        return f"CloudflareRoomProvider(account_id={self.account_id!r}, app_id={self.app_id!r})"

    # -- the HTTP client ------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """Cloudflare's own words, shortened, and never carrying our token."""
        text = text.replace(self._token, "<redacted>") if self._token else text
        return text[:ERROR_DETAIL_MAX_CHARS]

    def _error(self, op: str, response: requests.Response) -> RoomProviderError:
        status = response.status_code
        code, detail = _envelope_error(_json_object(response))
        message = f"Cloudflare {op} failed: HTTP {status}"
        if code is not None or detail:
            message += f" (error {code}: {self._scrub(detail)})"
        if status in (401, 403):
            return RoomProviderInvalidCredentials(message, status=status, code=code)
        if status in RETRYABLE_STATUSES or status >= 500:
            return RoomProviderUnavailable(
                message,
                status=status,
                code=code,
                retry_after=_parse_retry_after(response.headers.get("Retry-After")),
            )
        return RoomProviderRejected(message, status=status, code=code)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None and retry_after <= MAX_RETRY_AFTER_SECONDS:
            return retry_after
        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
        # "Equal jitter": at least half the back-off, so retries still spread out.
        return self._rng.uniform(ceiling / 2, ceiling)

    def _call(
        self,
        op: str,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """One API call with the retry policy; returns the envelope's ``data`` ({} if none).

        ``idempotent=False`` marks a request that creates something with no idempotency
        key. Such a request is not repeated after a timeout, a dropped connection or a
        504: it raises ``RoomProviderUnavailable`` with ``outcome_unknown=True`` instead,
        and the caller looks the state up before trying again (``start_recording`` asks
        for the meeting's active recording; a room or a participant is looked up in our
        own rows by the services, which accept that a meeting created by the lost request
        stays an orphan: nobody holds its id, so nobody can ever join it).
        """
        url = f"{self.api_root}{path}"
        attempt = 0
        while True:
            try:
                response = self._session.request(
                    method, url, json=body, auth=self._auth, timeout=self._timeout
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                failure = type(exc).__name__
                if not idempotent and not _never_reached_server(exc):
                    raise RoomProviderUnavailable(
                        f"Cloudflare {op}: no answer ({failure}); it may have been applied.",
                        outcome_unknown=True,
                    ) from exc
                error = RoomProviderUnavailable(f"Cloudflare {op} failed: {failure}")
            except requests.RequestException as exc:
                raise RoomProviderError(f"Cloudflare {op} failed: {type(exc).__name__}") from exc
            else:
                if response.status_code < 400:
                    return self._data(op, response)
                error = self._error(op, response)
                if response.status_code not in RETRYABLE_STATUSES:
                    raise error
                if not idempotent and response.status_code in NO_ANSWER_STATUSES:
                    error.outcome_unknown = True
                    raise error
            if attempt >= self._max_retries:
                raise RoomProviderUnavailable(
                    f"{error.message} (gave up after {attempt + 1} attempts)",
                    status=error.status,
                    code=error.code,
                    retry_after=getattr(error, "retry_after", None),
                )
            delay = self._backoff(attempt, getattr(error, "retry_after", None))
            logger.warning(
                "%s; retrying in %.1f s (attempt %d of %d)",
                error.message,
                delay,
                attempt + 2,
                self._max_retries + 1,
            )
            self._sleep(delay)
            attempt += 1

    def _data(self, op: str, response: requests.Response) -> dict[str, Any]:
        if response.status_code == 204 or not response.content:
            return {}
        payload = _json_object(response)
        if payload is None:
            raise RoomProviderError(
                f"Cloudflare {op}: HTTP {response.status_code} with a body that is not JSON.",
                status=response.status_code,
            )
        if payload.get("success") is False:
            code, detail = _envelope_error(payload)
            raise RoomProviderRejected(
                f"Cloudflare {op} failed: HTTP {response.status_code} with success false"
                + (f" (error {code}: {self._scrub(detail)})" if code is not None or detail else ""),
                status=response.status_code,
                code=code,
            )
        data = payload.get("data")
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise RoomProviderError(
                f"Cloudflare {op}: unexpected data in the answer.", status=response.status_code
            )
        return data

    @staticmethod
    def _field(data: dict[str, Any], name: str, op: str) -> str:
        value = data.get(name)
        if not isinstance(value, str) or not value:
            raise RoomProviderError(f"Cloudflare {op}: the answer has no {name}.")
        return value

    # -- rooms ----------------------------------------------------------------------------

    def create_room(self, session) -> Room:
        """``POST /meetings``. Recording is started by us when the session starts, not by
        ``record_on_start``, so an early warm-up call is never recorded."""
        data = self._call(
            "create room",
            "POST",
            "/meetings",
            body={"title": session.title, "record_on_start": False},
            idempotent=False,
        )
        return Room(
            room_id=self._field(data, "id", "create room"), room_url=room_page_url(session.pk)
        )

    def get_room(self, room_id: str) -> RoomInfo:
        """``GET /meetings/{id}``."""
        data = self._call("get room", "GET", f"/meetings/{room_id}")
        return RoomInfo(room_id=room_id, active=data.get("status") == "ACTIVE")

    def retire_room(self, room_id: str) -> None:
        """``PATCH /meetings/{id}`` to INACTIVE (there is no DELETE), then end a live call.

        A meeting Cloudflare no longer knows (404) counts as retired. Failing to end the
        call after the room was made inactive is logged, not raised: nobody can join any
        more and Cloudflare ends an empty call by itself.
        """
        try:
            self._call("retire room", "PATCH", f"/meetings/{room_id}", body={"status": "INACTIVE"})
        except RoomProviderRejected as exc:
            if exc.status != 404:
                raise
            logger.info("Cloudflare meeting %s no longer exists; nothing to retire.", room_id)
            return
        try:
            self.end_call(room_id)
        except RoomProviderRejected as exc:
            logger.info("Meeting %s is inactive; ending its call was refused: %s", room_id, exc)

    def end_call(self, room_id: str) -> int:
        """``POST /meetings/{id}/active-session/kick-all``; a 404 means no call is live.

        Kicking everyone twice removes nobody the second time, so it is safe to retry.
        """
        try:
            data = self._call("end call", "POST", f"/meetings/{room_id}/active-session/kick-all")
        except RoomProviderRejected as exc:
            if exc.status != 404:
                raise
            return 0
        count = data.get("kicked_participants_count")
        return count if isinstance(count, int) else 0

    # -- participants ---------------------------------------------------------------------

    def join_credentials(
        self, session, user, role: str, *, participant_id: str | None = None
    ) -> JoinCredentials:
        """Refresh the known participant's token, or add the user as a participant.

        The participant's ``custom_participant_id`` is our user id (never an e-mail), so
        webhooks name the user. A known participant that Cloudflare no longer has (404)
        is replaced by a new one; the caller stores the id returned.
        """
        room_id = session.room_id
        if not room_id:
            raise RoomProviderRejected("The session has no room to join.")
        room_url = room_page_url(session.pk)
        if participant_id:
            try:
                data = self._call(
                    "refresh participant token",
                    "POST",
                    f"/meetings/{room_id}/participants/{participant_id}/token",
                )
            except RoomProviderRejected as exc:
                if exc.status != 404:
                    raise
                logger.info("Participant %s is gone from meeting %s", participant_id, room_id)
            else:
                return JoinCredentials(
                    room_url=room_url,
                    role=role,
                    token=self._field(data, "token", "refresh participant token"),
                    participant_id=participant_id,
                    provider=self.name,
                )
        preset = self.host_preset if role == RoomRole.HOST else self.participant_preset
        data = self._call(
            "add participant",
            "POST",
            f"/meetings/{room_id}/participants",
            body={
                "name": getattr(user, "display_name", "") or user.get_username(),
                "preset_name": preset,
                "custom_participant_id": str(user.pk),
            },
            idempotent=False,
        )
        return JoinCredentials(
            room_url=room_url,
            role=role,
            token=self._field(data, "token", "add participant"),
            participant_id=self._field(data, "id", "add participant"),
            provider=self.name,
        )

    # -- recordings -----------------------------------------------------------------------

    def _recording(self, data: dict[str, Any], op: str) -> Recording:
        provider_status = str(data.get("status") or "")
        status = recording_status(provider_status)
        download_url = data.get("download_url")
        return Recording(
            recording_id=self._field(data, "id", op),
            status=status,
            download_url=download_url if isinstance(download_url, str) else None,
            provider_status=provider_status,
        )

    def active_recording(self, room_id: str) -> Recording | None:
        """``GET /recordings/active-recording/{meeting_id}``; None when nothing records."""
        try:
            data = self._call(
                "find active recording", "GET", f"/recordings/active-recording/{room_id}"
            )
        except RoomProviderRejected as exc:
            if exc.status != 404:
                raise
            return None
        return self._recording(data, "find active recording") if data.get("id") else None

    def start_recording(self, room_id: str) -> Recording:
        """``POST /recordings`` for the meeting.

        If the request went out and no answer came back, the meeting's active recording
        is looked up first: when there is one, that was ours; only when there is none is
        the start sent once more.
        """
        body = {"meeting_id": room_id}
        try:
            data = self._call("start recording", "POST", "/recordings", body=body, idempotent=False)
        except RoomProviderUnavailable as exc:
            if not exc.outcome_unknown:
                raise
            existing = self.active_recording(room_id)
            if existing is not None:
                return existing
            data = self._call("start recording", "POST", "/recordings", body=body, idempotent=False)
        return self._recording(data, "start recording")

    def stop_recording(self, room_id: str, recording_id: str | None = None) -> Recording | None:
        """``PUT /recordings/{id}`` with ``{"action": "stop"}``; without an id, the meeting's
        active recording is looked up first (None when there is none)."""
        if not recording_id:
            active = self.active_recording(room_id)
            if active is None:
                return None
            recording_id = active.recording_id
        data = self._call(
            "stop recording", "PUT", f"/recordings/{recording_id}", body={"action": "stop"}
        )
        return self._recording(data, "stop recording")

    # -- webhooks -------------------------------------------------------------------------

    def register_webhook(self, url: str, events: list[str]) -> str:
        """``POST /webhooks``. Not repeated on a lost answer: a second registration would
        double every delivery (harmless to us, thanks to ``rtk-uuid``, but untidy)."""
        data = self._call(
            "register webhook",
            "POST",
            "/webhooks",
            body={"name": WEBHOOK_NAME, "url": url, "events": events, "enabled": True},
            idempotent=False,
        )
        return self._field(data, "id", "register webhook")

    def _fetch_public_key(self) -> str:
        """Cloudflare's webhook key from the well-known URL (no token is sent there)."""
        try:
            response = self._session.get(self.webhook_key_url, timeout=self._timeout)
        except requests.RequestException as exc:
            raise RoomProviderUnavailable(
                f"Fetching the webhook key failed: {type(exc).__name__}"
            ) from exc
        payload = _json_object(response) if response.ok else None
        pem = _object(payload.get("data") if payload else None).get("publicKey")
        if not isinstance(pem, str) or "PUBLIC KEY" not in pem:
            raise RoomProviderUnavailable(
                f"Fetching the webhook key failed: HTTP {response.status_code}",
                status=response.status_code,
            )
        cache.set(KEY_CACHE_KEY, pem, KEY_CACHE_SECONDS)
        return pem

    @staticmethod
    def _load_key(pem: str) -> rsa.RSAPublicKey:
        try:
            key = serialization.load_pem_public_key(pem.encode())
        except (ValueError, TypeError) as exc:
            raise RoomProviderError("The webhook public key is not a PEM public key.") from exc
        if not isinstance(key, rsa.RSAPublicKey):
            raise RoomProviderError("The webhook public key is not an RSA key.")
        return key

    @staticmethod
    def _signed_by(pem: str, signature: bytes, body: bytes) -> bool:
        key = CloudflareRoomProvider._load_key(pem)
        try:
            key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        """RSA-SHA256 (PKCS#1 v1.5) over the raw body, base64 in ``rtk-signature``.

        The key is ``CLOUDFLARE_WEBHOOK_PUBLIC_KEY`` when set, else Cloudflare's published
        key, cached for a day and fetched again once when a signature does not verify
        (Cloudflare may have rotated it).
        """
        header = {k.lower(): v for k, v in headers.items()}.get("rtk-signature", "").strip()
        if not header:
            raise WebhookSignatureMissing("The webhook has no rtk-signature header.")
        try:
            signature = base64.b64decode(header, validate=True)
        except (binascii.Error, ValueError):
            raise WebhookSignatureInvalid("The webhook signature is not base64.") from None
        if self._configured_key:
            if not self._signed_by(self._configured_key, signature, body):
                raise WebhookSignatureInvalid("The webhook signature does not match its body.")
            return
        pem = cache.get(KEY_CACHE_KEY) or self._fetch_public_key()
        if self._signed_by(pem, signature, body):
            return
        if cache.add(KEY_REFETCH_GUARD_KEY, True, KEY_REFETCH_INTERVAL_SECONDS):
            fresh = self._fetch_public_key()
            if fresh != pem and self._signed_by(fresh, signature, body):
                return
        raise WebhookSignatureInvalid("The webhook signature does not match its body.")

    def webhook_delivery_id(self, body: bytes, headers: Mapping[str, str]) -> str:
        """``rtk-uuid`` (the same on every re-delivery); a body digest if it is missing."""
        delivery = {k.lower(): v for k, v in headers.items()}.get("rtk-uuid", "").strip()
        return delivery or f"sha256:{hashlib.sha256(body).hexdigest()}"

    def parse_webhook(self, body: bytes, *, delivery_id: str) -> WebhookEvent:
        """The camelCase payload reduced to a ``WebhookEvent``."""
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise WebhookPayloadInvalid("The webhook body is not JSON.") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
            raise WebhookPayloadInvalid("The webhook body has no event.")
        kind = payload["event"]
        meeting = _object(payload.get("meeting"))
        participant = _object(payload.get("participant"))
        if kind == WebhookEventKind.RECORDING_STATUS:
            data = _object(payload.get("recording"))
            recording_id = _text(data.get("id"))
            if not recording_id:
                raise WebhookPayloadInvalid("The recording event names no recording.")
            provider_status = str(data.get("status") or "")
            status = recording_status(provider_status)
            download_url = _text(data.get("downloadUrl"))
            return WebhookEvent(
                kind=kind,
                delivery_id=delivery_id,
                room_id=_text(data.get("meetingId")),
                recording=Recording(
                    recording_id=recording_id,
                    status=status,
                    download_url=download_url if status == RecordingStatus.READY else None,
                    provider_status=provider_status,
                ),
            )
        if kind not in WEBHOOK_EVENTS:
            # Not one we subscribe to: kept as a bare event, acknowledged and ignored.
            return WebhookEvent(
                kind=kind, delivery_id=delivery_id, room_id=_text(meeting.get("id"))
            )
        room_id = _text(meeting.get("id"))
        if not room_id:
            raise WebhookPayloadInvalid("The meeting event names no meeting.")
        occurred_at = {
            WebhookEventKind.MEETING_STARTED: _time(meeting.get("startedAt")),
            WebhookEventKind.MEETING_ENDED: _time(meeting.get("endedAt")),
            WebhookEventKind.PARTICIPANT_JOINED: _time(participant.get("joinedAt")),
            WebhookEventKind.PARTICIPANT_LEFT: _time(participant.get("leftAt")),
        }[WebhookEventKind(kind)]
        return WebhookEvent(
            kind=kind,
            delivery_id=delivery_id,
            room_id=room_id,
            call_id=_text(meeting.get("sessionId")),
            user_ref=_text(participant.get("customParticipantId")),
            peer_id=_text(participant.get("peerId")),
            occurred_at=occurred_at,
            reason=_text(payload.get("reason")),
        )
