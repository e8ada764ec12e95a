"""The one place where errors become HTTP answers.

Every error body has a human ``detail`` and a stable ``code``; a 400 adds a list of
messages per field (DRF's own shape), a domain refusal adds what the service attached
(the conflicting session, the ``can_join`` answer, …). Domain errors map to statuses here
and nowhere else:

- ``LoginRequired`` 401, ``NotAllowed`` 403, ``NotVisible`` 404 (a session the caller may
  not see does not exist for them), ``Conflict`` and ``RoomNotReady`` 409;
- ``JoinRefused`` by its ``can_join`` reason (``JOIN_REFUSAL_STATUS``);
- Django's ``DoesNotExist`` and ``Http404`` 404, ``ValidationError`` 400 with its field
  messages, ``RequestDataTooBig`` 413, any other ``SuspiciousOperation`` (a body Django
  refuses to read) 400.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from sessions_app.services import (
    Conflict,
    JoinRefused,
    LoginRequired,
    NotAllowed,
    NotVisible,
    Reason,
    RoomNotReady,
    SessionError,
)

JOIN_REFUSAL_STATUS = {
    Reason.LOGIN_REQUIRED: status.HTTP_401_UNAUTHORIZED,
    Reason.NOT_VISIBLE: status.HTTP_404_NOT_FOUND,
    Reason.MEMBERS_ONLY: status.HTTP_403_FORBIDDEN,
    Reason.CANCELED: status.HTTP_409_CONFLICT,
    Reason.ENDED: status.HTTP_409_CONFLICT,
    Reason.TOO_EARLY: status.HTTP_409_CONFLICT,
    Reason.TOO_LATE: status.HTTP_409_CONFLICT,
    Reason.FULL: status.HTTP_409_CONFLICT,
    Reason.ROOM_NOT_READY: status.HTTP_409_CONFLICT,
}

# Most specific first: subclasses of Conflict, say, would otherwise match it.
SESSION_ERROR_STATUS: list[tuple[type[SessionError], int]] = [
    (LoginRequired, status.HTTP_401_UNAUTHORIZED),
    (NotAllowed, status.HTTP_403_FORBIDDEN),
    (NotVisible, status.HTTP_404_NOT_FOUND),
    (RoomNotReady, status.HTTP_409_CONFLICT),
    (Conflict, status.HTTP_409_CONFLICT),
]


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class DomainError(exceptions.APIException):
    """A service's refusal carried through DRF, with its status, code and extra fields."""

    def __init__(self, status_code: int, detail: str, code: str, extra: dict[str, Any]):
        super().__init__(detail, code)
        self.status_code = status_code
        self.extra = extra


def to_api_exception(exc: Exception) -> Exception:
    """Translate the services' and Django's errors into DRF exceptions; others unchanged."""
    if isinstance(exc, JoinRefused):
        from sessions_app.api.serializers import can_join_data

        return DomainError(
            JOIN_REFUSAL_STATUS.get(exc.code, status.HTTP_409_CONFLICT),
            exc.message,
            exc.code,
            {"can_join": can_join_data(exc.decision)},
        )
    if isinstance(exc, SessionError):
        status_code = next(
            (code for cls, code in SESSION_ERROR_STATUS if isinstance(exc, cls)),
            status.HTTP_409_CONFLICT,
        )
        return DomainError(status_code, exc.message, exc.code, dict(exc.extra))
    if isinstance(exc, (ObjectDoesNotExist, Http404)):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, SuspiciousOperation):
        # An unreadable form body: too many fields, too large, a broken multipart.
        return exceptions.ParseError("The request body could not be read.")
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(serializers.as_serializer_error(exc))
    return exc


def _first_code(detail: Any) -> str:
    if isinstance(detail, exceptions.ErrorDetail):
        return detail.code or "invalid"
    return "invalid"


def error_body(exc: exceptions.APIException) -> dict[str, Any]:
    """``{"detail": …, "code": …}`` plus field errors (400) or the service's extras."""
    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        if isinstance(detail, dict):
            # simplejwt and friends already send {"detail": …, "code": …}; keep theirs.
            if "detail" in detail and not isinstance(detail["detail"], list):
                return dict(detail)
            body = {"detail": "Invalid input.", "code": "invalid"}
            for field, errors in detail.items():
                body[field] = errors
            return body
        messages = detail if isinstance(detail, list) else [detail]
        return {
            "detail": str(messages[0]) if messages else "Invalid input.",
            "code": _first_code(messages[0]) if messages else "invalid",
            "non_field_errors": messages,
        }
    if isinstance(detail, dict):
        # simplejwt's InvalidToken: {"detail", "code", "messages"}.
        body = dict(detail)
        body.setdefault("code", exc.default_code)
        return body
    if isinstance(detail, list):
        return {"detail": " ".join(str(item) for item in detail), "code": exc.default_code}
    body = {"detail": str(detail), "code": _first_code(detail)}
    body.update(getattr(exc, "extra", {}))
    return body


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's ``EXCEPTION_HANDLER``: every API error answer passes through here."""
    exc = to_api_exception(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None  # a bug of ours: let Django log it and answer 500
    response.data = error_body(exc)
    return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The site's 404 page, answered as JSON under ``/api/`` (an unknown API path)."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": "Not found.", "code": "not_found"}, status=status.HTTP_404_NOT_FOUND
        )
    return defaults.page_not_found(request, exception or Http404())
