"""An HTTP client for ZeroDB's document tables (contracts/zerodb.md).

One ``requests.Session`` per client with the auth header and a default timeout; every
answer shape the contract lists is normalised into ``Row`` objects; failures become one of
four named errors:

* ``InvalidCredentials`` — 401/403: do not retry, alert;
* ``NotFound``           — 404: row, table or project not found;
* ``Rejected``           — 400/409/422 (and other 4xx): never send the same body again;
* ``Unavailable``        — 429, 5xx, timeouts, connection errors and unusable answers;
  ``retry_after`` carries the server's ``Retry-After`` in seconds when it sent one.

Idempotent calls (every call but inserting a row) are retried a few times with capped
exponential back-off, honouring ``Retry-After`` when it is short. An insert is never
retried here: one that got no answer may have been stored, and only the caller can look
the row up before trying again. The API key is sent in a header and never appears in a
log line, an exception message or a repr.

This client is for the worker and management commands only; web requests never call it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

DEFAULT_PATH_PREFIX = "/v1/projects/{project_id}/database"
MAX_PAGE_SIZE = 1000  # the contract's cap on ``limit`` when listing rows
AUTH_MODES = ("x-api-key", "bearer")

# In-call retries: first wait, doubling up to the cap. A Retry-After longer than
# MAX_IN_CALL_WAIT is not slept through here; the outbox reschedules the entry instead.
RETRY_BACKOFF_SECONDS = 0.5
RETRY_BACKOFF_MAX_SECONDS = 4.0
MAX_IN_CALL_WAIT = 10.0


class ZeroDBError(Exception):
    """Base class of the client's errors. The message never contains the API key."""

    def __init__(self, message: str, *, status: int | None = None, detail: str = ""):
        super().__init__(message)
        self.message = message
        self.status = status
        self.detail = detail

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status!r})"


class InvalidCredentials(ZeroDBError):
    """401/403: the key is wrong, expired or lacks access. Retrying will not help."""


class NotFound(ZeroDBError):
    """404: the row, the table or the project does not exist."""


class Rejected(ZeroDBError):
    """400/409/422: the request was understood and refused; the same body will fail again."""


class Unavailable(ZeroDBError):
    """A transient failure: rate limit, server error, timeout, lost connection.

    ``retry_after`` is the server's ``Retry-After`` in seconds, when it gave one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Row:
    """One stored row: ZeroDB's ``row_id`` and our document (``row_data``)."""

    row_id: str
    data: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


class ZeroDBClient:
    """Calls to one ZeroDB project's tables. Build it with ``from_settings()``."""

    def __init__(
        self,
        *,
        base_url: str,
        project_id: str,
        api_key: str,
        auth_header: str = "x-api-key",
        path_prefix: str = DEFAULT_PATH_PREFIX,
        timeout: float = 10.0,
        retries: int = 2,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] | None = None,
        session: requests.Session | None = None,
    ):
        if auth_header not in AUTH_MODES:
            raise ImproperlyConfigured(
                f"ZERODB_AUTH_HEADER={auth_header!r} must be 'x-api-key' or 'bearer'."
            )
        if not path_prefix.startswith("/"):
            raise ImproperlyConfigured(f"ZERODB_PATH_PREFIX={path_prefix!r} must start with '/'.")
        if "{project_id}" in path_prefix and not project_id:
            raise ImproperlyConfigured("ZERODB_PROJECT_ID must be set to call ZeroDB.")
        try:
            prefix = path_prefix.format(project_id=quote(project_id, safe=""))
        except (KeyError, IndexError, ValueError):
            raise ImproperlyConfigured(
                f"ZERODB_PATH_PREFIX={path_prefix!r} may only contain the {{project_id}} "
                "placeholder."
            ) from None
        # What ``copy`` needs to make another client like this one.
        self._options: dict[str, Any] = {
            "base_url": base_url,
            "project_id": project_id,
            "api_key": api_key,
            "auth_header": auth_header,
            "path_prefix": path_prefix,
            "timeout": timeout,
            "retries": retries,
            "sleep": sleep,
            "clock": clock,
        }
        self.base_url = base_url.rstrip("/")
        self.project_id = project_id
        self.auth_mode = auth_header
        self.prefix = prefix.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self._api_key = api_key
        self._sleep = sleep
        self._clock = clock or (lambda: datetime.now(UTC))
        self._session = session or requests.Session()
        if auth_header == "bearer":
            self._session.headers["Authorization"] = f"Bearer {api_key}"
        else:
            self._session.headers["X-API-Key"] = api_key
        self._session.headers["Accept"] = "application/json"

    @classmethod
    def from_settings(cls, **overrides: Any) -> ZeroDBClient:
        """A client configured by the ``ZERODB_*`` settings as they are now."""
        options: dict[str, Any] = {
            "base_url": settings.ZERODB_API_BASE_URL,
            "project_id": settings.ZERODB_PROJECT_ID,
            "api_key": settings.ZERODB_API_KEY,
            "auth_header": str(settings.ZERODB_AUTH_HEADER).lower(),
            "path_prefix": settings.ZERODB_PATH_PREFIX,
            "timeout": float(settings.ZERODB_TIMEOUT_SECONDS),
            "retries": int(getattr(settings, "ZERODB_RETRIES", 2)),
        }
        options.update(overrides)
        if not options["api_key"]:
            raise ImproperlyConfigured("ZeroDB is off: ZERODB_API_KEY is not set.")
        return cls(**options)

    def __repr__(self) -> str:
        return (
            f"ZeroDBClient(base_url={self.base_url!r}, prefix={self.prefix!r}, "
            f"auth={self.auth_mode!r})"
        )

    def copy(self) -> ZeroDBClient:
        """A client configured like this one, with an HTTP session of its own.

        A ``requests.Session`` must not be shared between threads: each thread that calls
        ZeroDB at the same time as others uses a copy (and closes it when done).
        """
        return type(self)(**self._options)

    def close(self) -> None:
        self._session.close()

    @property
    def endpoint(self) -> str:
        """Base URL and path prefix, for status lines (no credentials in it)."""
        return f"{self.base_url}{self.prefix}"

    # Tables

    def create_table(self, name: str, schema: Mapping[str, str], description: str = "") -> bool:
        """Create a table; True if created, False if it existed already (not an error)."""
        body = {"table_name": name, "schema": dict(schema), "description": description}
        try:
            self._call("POST", "/tables", json=body)
        except Rejected as exc:
            if exc.status in (400, 409) and "already exists" in exc.detail.lower():
                return False
            raise
        return True

    def list_tables(self, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """Tables of the project, from ``{"tables": [...]}`` or a bare list."""
        body = self._json(self._call("GET", "/tables", params={"limit": limit, "offset": offset}))
        if isinstance(body, dict):
            body = body.get("tables", body.get("data"))
        if not isinstance(body, list):
            raise Unavailable("GET /tables: unexpected answer shape")
        return [item if isinstance(item, dict) else {"table_name": item} for item in body]

    def table_names(self) -> set[str]:
        """Names of the project's tables (first 1,000)."""
        names = set()
        for item in self.list_tables(limit=MAX_PAGE_SIZE):
            name = item.get("table_name") or item.get("name")
            if name:
                names.add(str(name))
        return names

    # Rows

    def insert_row(self, table: str, data: Mapping[str, Any]) -> Row:
        """Store a new row and return it with its ``row_id``. Never retried here."""
        path = f"/tables/{_seg(table)}/rows"
        response = self._call("POST", path, json={"row_data": dict(data)}, idempotent=False)
        row = _row(self._json(response, path))
        if row is None:
            # Stored, probably, but unaddressable: the caller treats it like a lost answer.
            raise Unavailable(f"POST {path}: the answer has no row_id")
        return row

    def get_row(self, table: str, row_id: str) -> Row:
        path = f"/tables/{_seg(table)}/rows/{_seg(row_id)}"
        row = _row(self._json(self._call("GET", path), path))
        if row is None:
            raise Unavailable(f"GET {path}: the answer is not a row")
        return row

    def replace_row(self, table: str, row_id: str, data: Mapping[str, Any]) -> Row:
        """Replace ``row_data`` whole (send every field). 404 means the row is gone."""
        path = f"/tables/{_seg(table)}/rows/{_seg(row_id)}"
        response = self._call("PUT", path, json={"row_data": dict(data)})
        # Some deployments answer with an empty body or a bare acknowledgement.
        row = _row(_json_or_none(response))
        return row or Row(row_id=row_id, data=dict(data))

    def delete_row(self, table: str, row_id: str) -> None:
        self._call("DELETE", f"/tables/{_seg(table)}/rows/{_seg(row_id)}")

    def list_rows(self, table: str, *, limit: int = 100, offset: int = 0) -> list[Row]:
        """One page of rows. ``offset`` is sent as ``offset`` and ``skip`` (both are read)."""
        path = f"/tables/{_seg(table)}/rows"
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        params = {"limit": limit, "offset": offset, "skip": offset}
        return _rows(self._json(self._call("GET", path, params=params), path), path)

    def iter_rows(self, table: str, *, page_size: int = MAX_PAGE_SIZE) -> Iterator[Row]:
        """Every row of the table, page by page (no order is guaranteed by ZeroDB)."""
        offset = 0
        while True:
            page = self.list_rows(table, limit=page_size, offset=offset)
            yield from page
            if len(page) < page_size:
                return
            offset += len(page)

    def query_rows(
        self, table: str, filter: Mapping[str, Any], *, limit: int = 100, skip: int = 0
    ) -> list[Row]:
        """Rows whose fields equal ``filter``'s values (plain equality only)."""
        path = f"/tables/{_seg(table)}/query"
        body = {"filter": dict(filter), "limit": limit, "skip": skip}
        return _rows(self._json(self._call("POST", path, json=body), path), path)

    # HTTP

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool = True,
    ) -> requests.Response:
        url = f"{self.base_url}{self.prefix}{path}"
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                response = self._session.request(
                    method, url, json=json, params=params, timeout=self.timeout
                )
            except requests.RequestException as exc:
                error: ZeroDBError = Unavailable(
                    f"{method} {path}: {type(exc).__name__} (no answer)"
                )
            else:
                logger.debug(
                    "ZeroDB %s %s -> %s in %.0f ms",
                    method,
                    path,
                    response.status_code,
                    (time.monotonic() - started) * 1000,
                )
                if 200 <= response.status_code < 300:
                    return response
                error = self._error(method, path, response)
            if not (isinstance(error, Unavailable) and idempotent and attempt < self.retries):
                raise error
            wait = min(RETRY_BACKOFF_SECONDS * 2**attempt, RETRY_BACKOFF_MAX_SECONDS)
            if error.retry_after is not None:
                if error.retry_after > MAX_IN_CALL_WAIT:
                    raise error
                wait = max(wait, error.retry_after)
            attempt += 1
            logger.info("ZeroDB %s; retry %d of %d in %.1f s", error, attempt, self.retries, wait)
            self._sleep(wait)

    def _error(self, method: str, path: str, response: requests.Response) -> ZeroDBError:
        status = response.status_code
        detail = self._redact(_detail(response))
        message = f"{method} {path} -> {status}" + (f": {detail}" if detail else "")
        if status in (401, 403):
            return InvalidCredentials(message, status=status, detail=detail)
        if status == 404:
            return NotFound(message, status=status, detail=detail)
        if status in (408, 429) or status >= 500 or status < 400:
            return Unavailable(
                message,
                status=status,
                detail=detail,
                retry_after=self._retry_after(response.headers.get("Retry-After")),
            )
        return Rejected(message, status=status, detail=detail)

    def _retry_after(self, value: str | None) -> float | None:
        if not value:
            return None
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - self._clock()).total_seconds())

    def _redact(self, text: str) -> str:
        # A server may echo the credential it refused; it must not reach our logs.
        return text.replace(self._api_key, "[redacted]") if self._api_key else text

    def _json(self, response: requests.Response, what: str = "") -> Any:
        body = _json_or_none(response)
        if body is None:
            raise Unavailable(
                f"{response.request.method} {what or response.url}: the answer is not JSON"
            )
        return body


def _seg(value: str) -> str:
    return quote(str(value), safe="")


def _json_or_none(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _detail(response: requests.Response) -> str:
    """FastAPI's ``detail`` (text, or a list of ``{loc, msg}``), else the body's start."""
    body = _json_or_none(response)
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        if isinstance(detail, list):
            parts = []
            for item in detail:
                if isinstance(item, dict):
                    loc = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                    parts.append(f"{loc}: {item.get('msg', '')}" if loc else str(item.get("msg")))
                else:
                    parts.append(str(item))
            return "; ".join(parts)[:500]
        return str(detail)[:500]
    return response.text[:300].strip()


def _row(body: Any) -> Row | None:
    """A row from ``{"row_id", "row_data", ...}``, also when wrapped in ``row``/``data``."""
    if not isinstance(body, dict):
        return None
    if "row_id" not in body:
        for key in ("row", "data"):
            if isinstance(body.get(key), dict) and "row_id" in body[key]:
                body = body[key]
                break
    row_id = body.get("row_id")
    if row_id is None and "row_data" in body:
        row_id = body.get("id")
    if row_id is None or row_id == "":
        return None
    data = body.get("row_data", {})
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            data = {}
    return Row(row_id=str(row_id), data=data if isinstance(data, dict) else {}, raw=body)


def _rows(body: Any, what: str) -> list[Row]:
    """Rows from a bare list, ``{"rows": [...]}`` or ``{"data": [...]}``."""
    if isinstance(body, dict):
        for key in ("rows", "data", "items"):
            if isinstance(body.get(key), list):
                body = body[key]
                break
    if not isinstance(body, list):
        raise Unavailable(f"{what}: unexpected answer shape")
    rows = []
    for item in body:
        row = _row(item)
        if row is None:
            logger.warning("ZeroDB %s: skipped an item without row_id", what)
            continue
        rows.append(row)
    return rows
