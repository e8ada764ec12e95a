"""A small fake of ZeroDB's table API (contracts/zerodb.md) for end-to-end and fault tests.

It serves the contract's endpoints on 127.0.0.1 (a random port, in a thread), checks the
credential, and can be told to misbehave the ways the contract allows:

* ``fail(503)`` / ``fail(429, retry_after=2)`` — answer with an error status;
* ``stall()`` — hold the request without answering (the client times out), then drop it;
* ``drop_answers()`` — do the work (store the row), then close the connection unanswered;
* ``flaky(rate)`` — any of the above at random, for a fraction of the requests.

Each fault can be limited to some methods or paths and to a number of requests. Answers
vary the shapes the contract lists (``insert_status``, ``list_shape``, ``query_shape``,
``tables_shape``) so the client's normalisation is exercised too.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    kind: str  # "status", "stall" or "drop"
    status: int = 503
    retry_after: str | None = None
    times: int | None = None  # None: until healed
    methods: tuple[str, ...] | None = None
    path_contains: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.methods is not None and method not in self.methods:
            return False
        return self.path_contains is None or self.path_contains in path


class FakeZeroDB:
    """The fake server and its state. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        *,
        api_key: str = "fake-key-0123456789",
        project_id: str = "proj-fake",
        auth: str = "x-api-key",
        prefix: str = "/v1/projects/{project_id}/database",
        insert_status: int = 201,
        list_shape: str = "bare",
        query_shape: str = "data",
        tables_shape: str = "dict",
        stall_seconds: float = 2.0,
    ):
        self.api_key = api_key
        self.project_id = project_id
        self.auth = auth
        self.prefix = prefix.format(project_id=project_id)
        self.insert_status = insert_status
        self.list_shape = list_shape
        self.query_shape = query_shape
        self.tables_shape = tables_shape
        self.stall_seconds = stall_seconds
        self.tables: dict[str, dict[str, dict[str, Any]]] = {}
        self.log: list[tuple[str, str, int | str]] = []
        self.faults: list[Fault] = []
        self._flaky_rate = 0.0
        self._rng = random.Random(0)
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle

    def start(self) -> FakeZeroDB:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeZeroDB:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # Faults

    def fail(self, status: int = 503, *, retry_after: str | None = None, **where) -> None:
        self.faults.append(Fault("status", status=status, retry_after=retry_after, **where))

    def stall(self, **where) -> None:
        self.faults.append(Fault("stall", **where))

    def drop_answers(self, **where) -> None:
        self.faults.append(Fault("drop", **where))

    def flaky(self, rate: float, *, seed: int = 0) -> None:
        self._flaky_rate = rate
        self._rng = random.Random(seed)

    def heal(self) -> None:
        self.faults.clear()
        self._flaky_rate = 0.0

    def _fault_for(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self.faults.remove(fault)
                    return fault
            if self._flaky_rate and self._rng.random() < self._flaky_rate:
                choice = self._rng.choice(["503", "429", "500", "stall", "drop"])
                if choice == "stall":
                    return Fault("stall")
                if choice == "drop":
                    return Fault("drop")
                if choice == "429":
                    return Fault("status", status=429, retry_after="1")
                return Fault("status", status=int(choice))
        return None

    # State, for assertions

    def rows(self, table: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(row) for row in self.tables.get(table, {}).values()]

    def documents_by_id(self, table: str) -> dict[str, list[dict[str, Any]]]:
        """Our ``id`` → the ``row_data`` of every row carrying it (duplicates show as 2+)."""
        found: dict[str, list[dict[str, Any]]] = {}
        for row in self.rows(table):
            found.setdefault(str(row["row_data"].get("id")), []).append(row["row_data"])
        return found

    def calls(self, method: str | None = None, contains: str = "") -> int:
        return sum(1 for m, p, _ in self.log if (method is None or m == method) and contains in p)

    # The API

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any):
        """Return (status, payload, headers) for one request."""
        if not path.startswith(self.prefix):
            return 404, {"detail": "Project not found"}, {}
        rest = path[len(self.prefix) :] or "/"
        with self._lock:
            if rest == "/tables" and method == "POST":
                return self._create_table(body)
            if rest == "/tables" and method == "GET":
                return self._list_tables(query)
            match = re.fullmatch(r"/tables/([^/]+)/(rows|query)(?:/([^/]+))?", rest)
            if not match:
                return 404, {"detail": "Not Found"}, {}
            table, what, row_id = match.groups()
            if table not in self.tables:
                return 404, {"detail": f"Table '{table}' not found"}, {}
            rows = self.tables[table]
            if what == "query" and method == "POST" and row_id is None:
                return self._query(rows, body)
            if what == "rows" and row_id is None and method == "POST":
                return self._insert(table, rows, body)
            if what == "rows" and row_id is None and method == "GET":
                return self._list(rows, query)
            if what == "rows" and row_id is not None:
                return self._one(table, rows, row_id, method, body)
        return 405, {"detail": "Method Not Allowed"}, {}

    def _create_table(self, body):
        name = (body or {}).get("table_name")
        if not name or not isinstance((body or {}).get("schema", {}), dict):
            return 422, {"detail": [{"loc": ["body", "table_name"], "msg": "field required"}]}, {}
        if name in self.tables:
            return 409, {"detail": f"Table '{name}' already exists"}, {}
        self.tables[name] = {}
        return 201, {"table_id": str(uuid.uuid4()), "table_name": name}, {}

    def _list_tables(self, query):
        names = [{"table_name": name, "row_count": len(rows)} for name, rows in self.tables.items()]
        if self.tables_shape == "bare":
            return 200, names, {}
        return 200, {"tables": names, "total": len(names)}, {}

    def _insert(self, table, rows, body):
        data = (body or {}).get("row_data")
        if not isinstance(data, dict):
            return 422, {"detail": [{"loc": ["body", "row_data"], "msg": "field required"}]}, {}
        now = _now()
        row = {
            "row_id": str(uuid.uuid4()),
            "project_id": self.project_id,
            "table_id": table,
            "table_name": table,
            "row_data": data,
            "created_at": now,
            "updated_at": now,
        }
        rows[row["row_id"]] = row
        return self.insert_status, dict(row), {}

    def _one(self, table, rows, row_id, method, body):
        row = rows.get(row_id)
        if row is None:
            return 404, {"detail": "Row not found"}, {}
        if method == "GET":
            return 200, dict(row), {}
        if method == "PUT":
            data = (body or {}).get("row_data")
            if not isinstance(data, dict):
                return 422, {"detail": [{"loc": ["body", "row_data"], "msg": "required"}]}, {}
            row["row_data"] = data
            row["updated_at"] = _now()
            return 200, dict(row), {}
        if method == "DELETE":
            del rows[row_id]
            return 204, None, {}
        return 405, {"detail": "Method Not Allowed"}, {}

    def _list(self, rows, query):
        limit = int(query.get("limit", ["100"])[0])
        if limit > 1000:
            return 422, {"detail": [{"loc": ["query", "limit"], "msg": "at most 1000"}]}, {}
        skip = int(query.get("skip", query.get("offset", ["0"]))[0])
        page = [dict(r) for r in list(rows.values())[skip : skip + limit]]
        return 200, (page if self.list_shape == "bare" else {"rows": page}), {}

    def _query(self, rows, body):
        body = body or {}
        wanted = body.get("filter") or {}
        limit, skip = int(body.get("limit", 100)), int(body.get("skip", 0))
        found = [
            dict(r)
            for r in rows.values()
            if all(r["row_data"].get(key) == value for key, value in wanted.items())
        ][skip : skip + limit]
        if self.query_shape == "bare":
            return 200, found, {}
        return 200, {self.query_shape: found}, {}

    def authorized(self, headers) -> bool:
        if self.auth == "bearer":
            return headers.get("Authorization") == f"Bearer {self.api_key}"
        return headers.get("X-API-Key") == self.api_key


class _Handler(BaseHTTPRequestHandler):
    fake: FakeZeroDB
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this, delayed ACKs add ~40 ms
    # to every keep-alive request.
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # quiet
        pass

    def _serve(self, method: str) -> None:
        fake = self.fake
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        fault = fake._fault_for(method, parts.path)
        if fault is not None and fault.kind == "stall":
            fake.log.append((method, parts.path, "stall"))
            fake._release.wait(fake.stall_seconds)
            self._hang_up()
            return
        if fault is not None and fault.kind == "status":
            fake.log.append((method, parts.path, fault.status))
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            self._answer(fault.status, {"detail": "Service Unavailable"}, headers)
            return
        if not fake.authorized(self.headers):
            fake.log.append((method, parts.path, 401))
            self._answer(401, {"detail": "Invalid API key"}, {})
            return
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._answer(400, {"detail": "Invalid JSON"}, {})
            return
        status, payload, headers = fake.handle(method, parts.path, parse_qs(parts.query), body)
        fake.log.append((method, parts.path, "dropped" if fault else status))
        if fault is not None and fault.kind == "drop":
            self._hang_up()  # the work is done; the answer is lost
            return
        self._answer(status, payload, headers)

    def _answer(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        data = b"" if payload is None else json.dumps(payload).encode("utf-8")
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PUT(self):
        self._serve("PUT")

    def do_DELETE(self):
        self._serve("DELETE")


def _now() -> str:
    return datetime.now(UTC).isoformat()
