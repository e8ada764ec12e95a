"""What the benchmark scripts share: their environment and database, a gunicorn server on
127.0.0.1, a bounded HTTP load, and the table each one prints.

Every script configures the environment *before* Django is imported (``configure``), owns
its database (a throwaway SQLite file or a PostgreSQL database named ``wwmaa_bench_*``,
created and dropped here), and only ever talks to 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")


class CannotRun(Exception):
    """The benchmark cannot run here (no PostgreSQL, a port taken, …): exit non-zero."""


# --- Environment and database --------------------------------------------------------------


def configure(database_url: str, **extra: str) -> dict[str, str]:
    """Set the process environment for the bench settings; returns it for subprocesses.

    Production-like: DEBUG off, a real secret, persistent database connections (as a
    deployment sets ``DB_CONN_MAX_AGE``), throttles out of the way (the load comes from one
    address), HTTPS redirects off (plain HTTP on 127.0.0.1), quiet logs.
    """
    for name in ("REDIS_URL", "ZERODB_API_KEY", "CLOUDFLARE_API_TOKEN"):
        os.environ.pop(name, None)  # no broker, mirror or provider but those asked for
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DEBUG="0",
        SECRET_KEY="bench-" + "s3cr3t-" * 8,
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        DATABASE_URL=database_url,
        DB_CONN_MAX_AGE="60",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
        API_THROTTLE_ANON="100000000/min",
        API_THROTTLE_USER="100000000/min",
        API_THROTTLE_TOKEN="100000000/min",
        API_THROTTLE_JOIN="100000000/min",
        LOG_LEVEL="WARNING",
        **extra,
    )
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return dict(os.environ)


def setup_django(migrate: bool = True) -> None:
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


def _pg_admin():
    try:
        import psycopg

        return psycopg.connect(f"{PG_ADMIN_URL}/postgres", autocommit=True, connect_timeout=5)
    except Exception as exc:
        raise CannotRun(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}") from exc


def pg_url(name: str) -> str:
    return f"{PG_ADMIN_URL}/{name}"


def pg_exists(name: str) -> bool:
    with _pg_admin() as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()


def pg_create(name: str) -> str:
    """A fresh, empty PostgreSQL database ``name`` (dropped first if left over)."""
    assert name.startswith("wwmaa_bench"), name
    pg_drop(name)
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_url(name)


def pg_drop(name: str) -> None:
    assert name.startswith("wwmaa_bench"), name
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def sqlite_database() -> Iterator[str]:
    """A throwaway SQLite file, removed afterwards."""
    folder = tempfile.mkdtemp(prefix="wwmaa-bench-")
    try:
        yield f"sqlite:///{folder}/bench.sqlite3"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def close_connections() -> None:
    from django.db import connections

    for connection in connections.all():
        connection.close()


# --- A server on 127.0.0.1 ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(env: dict[str, str], *, workers: int, threads: int = 1) -> Iterator[str]:
    """gunicorn serving the site (sync workers) on a free port; yields ``host:port``."""
    port = free_port()
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "wwmaa.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        f"--threads={threads}",
        "--backlog=2048",
        "--timeout=60",
        "--log-level=warning",
    ]
    address = f"127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        # Our own command line: the virtual environment's gunicorn and fixed options.
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)  # noqa: S603
        try:
            wait_until_up(address, process, log)
            yield address
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_up(address: str, process: subprocess.Popen, log) -> None:
    """Poll ``/healthz`` for up to 30 seconds (startup time, not a clock under test)."""
    for _ in range(300):
        if process.poll() is not None:
            log.seek(0)
            raise CannotRun(f"gunicorn exited: {log.read().decode(errors='replace')[-2000:]}")
        try:
            status, _body, _elapsed = request(address, "GET", "/healthz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise CannotRun("gunicorn did not answer /healthz within 30 seconds")


# --- HTTP ---------------------------------------------------------------------------------


def request(
    address: str,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    connection: http.client.HTTPConnection | None = None,
) -> tuple[int, bytes, float]:
    """One request; returns (status, body, seconds). Reuses ``connection`` when given."""
    own = connection is None
    if own:
        host, port = address.split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
    started = time.perf_counter()
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        return response.status, data, time.perf_counter() - started
    finally:
        if own:
            connection.close()


@dataclass
class Load:
    """What a load run measured."""

    requests: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    body_bytes: int = 0

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def keep_alive_load(
    address: str, path: str, headers: dict[str, str], *, concurrency: int, total: int
) -> Load:
    """``total`` GETs of ``path`` from ``concurrency`` keep-alive connections at once."""
    host, port = address.split(":")
    counter = iter(range(total))
    lock = threading.Lock()
    load = Load(requests=total, seconds=0.0)
    barrier = threading.Barrier(concurrency + 1)

    def worker() -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        barrier.wait()
        try:
            while True:
                with lock:
                    if next(counter, None) is None:
                        return
                status, body, elapsed = request(
                    address, "GET", path, headers, connection=connection
                )
                with lock:
                    load.latencies.append(elapsed)
                    load.statuses[status] = load.statuses.get(status, 0) + 1
                    load.body_bytes = len(body)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    load.seconds = time.perf_counter() - started
    return load


def interleaved(
    address: str,
    paths: dict[str, tuple[str, dict[str, str]]],
    *,
    concurrency: int,
    per_round: int,
    rounds: int,
    warmup: int = 50,
) -> dict[str, list[Load]]:
    """Alternate the paths round by round, so machine noise falls on all of them alike."""
    for path, headers in paths.values():
        keep_alive_load(address, path, headers, concurrency=concurrency, total=warmup)
    results: dict[str, list[Load]] = {name: [] for name in paths}
    for _ in range(rounds):
        for name, (path, headers) in paths.items():
            results[name].append(
                keep_alive_load(address, path, headers, concurrency=concurrency, total=per_round)
            )
    return results


def median_throughput(loads: Sequence[Load]) -> float:
    return statistics.median(load.throughput for load in loads)


def expect_ok(loads: Sequence[Load], what: str) -> None:
    for load in loads:
        bad = {status: n for status, n in load.statuses.items() if status != 200}
        if bad:
            raise CannotRun(f"{what} answered {bad} under load")


# --- Reporting ----------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """The machine the figures come from."""
    memory = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    postgres = ""
    with contextlib.suppress(Exception), _pg_admin() as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0]
    return {
        "cpus": str(os.cpu_count()),
        "memory": memory,
        "python": platform.python_version(),
        "postgresql": postgres,
        "platform": platform.platform(),
    }


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for index, row in enumerate(cells):
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  " + "  ".join("-" * width for width in widths))


def save(name: str, summary: dict) -> None:
    """Write the figure for ``bench/run_all.py`` (and for BENCHMARKS.md)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(summary, indent=2, default=str))


def main(run) -> None:
    """Run a benchmark: its table on success, a message and exit 1 when it cannot run."""
    try:
        run()
    except CannotRun as exc:
        print(f"cannot run: {exc}", file=sys.stderr)
        sys.exit(1)
