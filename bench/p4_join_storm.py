"""P4: join storm. gunicorn with several workers on PostgreSQL; 200 members, each with a JWT
made beforehand, join one 50-seat session at the same instant. Goals: exactly 50 admitted
(every other join refused with ``full``, never an error), and the p95 join latency within
3x the p95 latency of ``/healthz`` under the same concurrency.

Each round uses a fresh session: a storm of 200 ``/healthz`` requests, then the 200 joins,
each from its own connection, opened beforehand and released together. The figure is the
median round. gunicorn runs as the README advises a deployment: one sync worker per CPU
plus one (BENCHMARKS.md, "The tenth session"). PostgreSQL database ``wwmaa_bench_p4``
(created and dropped here).

    .venv/bin/python bench/p4_join_storm.py [--rounds 5] [--workers N]
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

DATABASE = "wwmaa_bench_p4"
MEMBERS = 200
SEATS = 50
GOAL = 3.0


def storm(address: str, requests: list[tuple[str, str, dict]]) -> list[tuple[int, float]]:
    """Send every request at once, each on its own connection; (status, seconds) each."""
    host, port = address.split(":")
    results: list[tuple[int, float] | None] = [None] * len(requests)
    barrier = threading.Barrier(len(requests))

    def one(index: int, method: str, path: str, headers: dict) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=120)
        try:
            connection.connect()
            barrier.wait()
            started = time.perf_counter()
            connection.request(method, path, headers=headers)
            response = connection.getresponse()
            response.read()
            results[index] = (response.status, time.perf_counter() - started)
        except OSError:
            results[index] = (0, 0.0)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=one, args=(i, *request)) for i, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [result for result in results if result is not None]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) + 1)
    args = parser.parse_args()

    env = common.configure(common.pg_create(DATABASE), JWT_ACCESS_MINUTES="120")
    try:
        common.setup_django()
        from django.utils import timezone
        from rest_framework_simplejwt.tokens import AccessToken

        from sessions_app.models import RoomStatus, SessionAttendance, TrainingSession
        from wwmaa.models import Role, User

        instructor = User.objects.create_user("teacher", "t@example.com", "pw", role="instructor")
        User.objects.bulk_create(
            [
                User(username=f"member{i:03d}", email=f"m{i}@example.com", role=Role.MEMBER)
                for i in range(MEMBERS)
            ]
        )
        members = list(User.objects.filter(role=Role.MEMBER).order_by("username"))
        tokens = [{"Authorization": f"Bearer {AccessToken.for_user(m)}"} for m in members]

        def new_session(title: str) -> TrainingSession:
            session = TrainingSession.objects.create(
                instructor=instructor,
                title=title,
                start_time=timezone.now() + timedelta(minutes=5),
                duration_minutes=60,
                capacity=SEATS,
                room_status=RoomStatus.READY,
                room_id=f"local-{title}",
            )
            # One instructor may not hold overlapping sessions; these are made directly.
            return session

        warmup = new_session("warm-up")
        rounds = [new_session(f"round-{n}") for n in range(args.rounds)]
        common.close_connections()

        figures = []
        with common.gunicorn(env, workers=args.workers) as address:
            # Every worker imports, connects to PostgreSQL and warms its caches first: a
            # whole storm on a session of its own, so that both ways through a join
            # (admitted, refused) have run often enough in every worker for its queries
            # to be prepared (DB_PREPARE_THRESHOLD), as on a server that has been up a while.
            storm(address, [("GET", "/healthz", {})] * 50)
            warm = f"/api/training/sessions/{warmup.pk}/join"
            storm(address, [("POST", warm, token) for token in tokens])
            for session in rounds:
                health = storm(address, [("GET", "/healthz", {})] * MEMBERS)
                joins = storm(
                    address,
                    [("POST", f"/api/training/sessions/{session.pk}/join", t) for t in tokens],
                )
                statuses = [status for status, _ in joins]
                join_p95 = percentile([s for _, s in joins], 95)
                health_p95 = percentile([s for _, s in health], 95)
                figures.append(
                    {
                        "admitted": statuses.count(200),
                        "refused_full": statuses.count(409),
                        "errors": len(statuses) - statuses.count(200) - statuses.count(409),
                        "seats_in_db": SessionAttendance.objects.filter(session=session).count(),
                        "health_ok": sum(status == 200 for status, _ in health),
                        "join_p50": percentile([s for _, s in joins], 50),
                        "join_p95": join_p95,
                        "health_p50": percentile([s for _, s in health], 50),
                        "health_p95": health_p95,
                        # The join storm against the /healthz storm run just before it,
                        # on the machine as it was then.
                        "p95_ratio": join_p95 / health_p95,
                    }
                )
        common.close_connections()
    finally:
        common.close_connections()
        common.pg_drop(DATABASE)

    def median(key: str) -> float:
        return statistics.median(figure[key] for figure in figures)

    exact = all(f["admitted"] == SEATS and f["seats_in_db"] == SEATS for f in figures)
    clean = all(f["errors"] == 0 and f["health_ok"] == MEMBERS for f in figures)
    ratio = median("p95_ratio")  # the median round's
    ms = 1000
    rows = [
        [
            n + 1,
            f"{f['admitted']} ({f['seats_in_db']} seats)",
            f["refused_full"],
            f["errors"],
            f"{f['join_p50'] * ms:.0f} / {f['join_p95'] * ms:.0f} ms",
            f"{f['health_p50'] * ms:.0f} / {f['health_p95'] * ms:.0f} ms",
            f"{f['p95_ratio']:.2f}",
        ]
        for n, f in enumerate(figures)
    ]
    common.print_table(
        f"P4 — {MEMBERS} members join a {SEATS}-seat session at once, {args.workers} gunicorn "
        f"workers (goals: exactly {SEATS} admitted; p95 ratio <= {GOAL})",
        ["round", "admitted", "full", "errors", "join p50 / p95", "healthz p50 / p95",
         "p95 ratio"],
        rows,
    )  # fmt: skip
    print(
        f"  median p95 ratio {ratio:.2f}: {'met' if ratio <= GOAL else 'MISSED'}; "
        f"admitted exactly {SEATS} in every round: {'met' if exact else 'MISSED'}"
    )
    common.save(
        "p4",
        {"figure": "P4", "goal": f"admitted == {SEATS}, p95 ratio <= {GOAL}",
         "met": exact and clean and ratio <= GOAL, "exact": exact, "clean": clean,
         "p95_ratio": round(ratio, 3), "join_p50_ms": round(median("join_p50") * ms, 1),
         "join_p95_ms": round(median("join_p95") * ms, 1),
         "health_p50_ms": round(median("health_p50") * ms, 1),
         "health_p95_ms": round(median("health_p95") * ms, 1),
         "rounds": figures, "workers": args.workers},
    )  # fmt: skip


if __name__ == "__main__":
    common.main(run)
