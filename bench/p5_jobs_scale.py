"""P5: one tick of each job (ensure rooms, reminders, auto-end, cleanup) with 1,000 and with
1,000,000 stored sessions, the same sessions due in both. Goal: time ratio <= 2 (a job's
cost follows the work due, not the rows stored); the query counts are shown beside it.

Two PostgreSQL databases: ``wwmaa_bench_p5_small`` (made and dropped each run) and
``wwmaa_bench_p5_large``, whose million rows are inserted by one ``INSERT … SELECT
generate_series`` and kept between runs (``--fresh`` rebuilds it, ``--drop`` removes it
afterwards). Every stored session that is not due is what years of use leave behind:
ended or canceled, archived, its room deleted; or scheduled days ahead. The due ones
are the same 20 per job in both databases, all relative to a fixed instant, so the kept
database stays valid. Each tick is run five times per database, alternating, with the
due work put back between runs; the figure is the median.

    .venv/bin/python bench/p5_jobs_scale.py [--repeat 5] [--fresh] [--drop]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

SMALL, LARGE = "wwmaa_bench_p5_small", "wwmaa_bench_p5_large"
SIZES = {SMALL: 1_000, LARGE: 1_000_000}
DUE = 20
GOAL = 2.0
# Every row and every tick is placed relative to this instant, never to the clock.
NOW = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)
INSTRUCTORS = 200


def use(database: str) -> None:
    """Point Django's connection at another database."""
    from django.db import connections

    connection = connections["default"]
    connection.close()
    connection.settings_dict["NAME"] = database


def latest_migration() -> str:
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    return ",".join(sorted(f"{app}.{name}" for app, name in loader.graph.leaf_nodes()))


def is_cached(database: str, size: int) -> bool:
    from django.db import connection

    if not common.pg_exists(database):
        return False
    use(database)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_p5_meta')")
        if cursor.fetchone()[0] is None:
            return False
        cursor.execute("SELECT rows, migrations FROM bench_p5_meta")
        row = cursor.fetchone()
    return row == (size, latest_migration())


# --- The rows -----------------------------------------------------------------------------


def arrange(database: str, size: int) -> None:
    """Migrate, then store ``size`` sessions: the due ones of every job and the rest."""
    from django.core.management import call_command
    from django.db import connection

    common.pg_create(database)
    use(database)
    call_command("migrate", verbosity=0, interactive=False)
    started = time.perf_counter()
    instructors = make_people()
    due = make_due(instructors)
    insert_not_due(size - due, instructors)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("CREATE TABLE bench_p5_meta (rows integer, migrations text)")
        cursor.execute("INSERT INTO bench_p5_meta VALUES (%s, %s)", [size, latest_migration()])
    print(f"  {database}: {size:,} sessions stored in {time.perf_counter() - started:.0f} s")


def make_people() -> list[int]:
    from wwmaa.models import Role, User

    teachers = [
        User(username=f"teacher{i:03d}", email=f"t{i}@example.com", role=Role.INSTRUCTOR)
        for i in range(INSTRUCTORS)
    ]
    members = [
        User(username=f"member{i}", email=f"m{i}@example.com", role=Role.MEMBER) for i in range(3)
    ]
    User.objects.bulk_create(teachers + members)
    return list(
        User.objects.filter(role=Role.INSTRUCTOR).order_by("pk").values_list("pk", flat=True)
    )


def make_due(instructors: list[int]) -> int:
    """The sessions due for each job at NOW; returns how many were stored."""
    from sessions_app.models import (
        RoomStatus,
        SessionAttendance,
        SessionRegistration,
        SessionStatus,
        TrainingSession,
    )
    from wwmaa.models import Role, User

    members = list(User.objects.filter(role=Role.MEMBER))
    made = []

    def session(title: str, start: datetime, **fields) -> TrainingSession:
        row = TrainingSession(
            instructor_id=instructors[len(made) % len(instructors)],
            title=title,
            start_time=start,
            duration_minutes=60,
            created_at=NOW - timedelta(days=3),
            **fields,
        )
        row.end_time = row.compute_end_time()
        made.append(row)
        return row

    for i in range(DUE):
        # Ensure rooms: starting within two hours, room pending.
        session(f"rooms due {i}", NOW + timedelta(minutes=30 + 4 * i))
        # Reminders: the 24-hour reminder is due (they start within the day), rooms ready.
        session(
            f"reminder due {i}",
            NOW + timedelta(hours=20, minutes=10 * i),
            room_status=RoomStatus.READY,
            room_id=f"local-r{i}",
        )
        # Auto-end: half live, half never started, all over for more than 30 minutes.
        session(
            f"overdue {i}",
            NOW - timedelta(hours=3, minutes=5 * i),
            status=SessionStatus.LIVE if i % 2 else SessionStatus.SCHEDULED,
            room_status=RoomStatus.READY,
            room_id=f"local-o{i}",
        )
        # Cleanup: ended yesterday with the room still up; ended 10 days ago, not archived.
        session(
            f"to retire {i}",
            NOW - timedelta(days=1, minutes=5 * i),
            status=SessionStatus.ENDED,
            ended_at=NOW - timedelta(days=1),
            room_status=RoomStatus.READY,
            room_id=f"local-c{i}",
        )
        session(
            f"to archive {i}",
            NOW - timedelta(days=10, minutes=5 * i),
            status=SessionStatus.ENDED,
            ended_at=NOW - timedelta(days=10),
            room_status=RoomStatus.DELETED,
        )
    TrainingSession.objects.bulk_create(made)
    for row in made:
        if row.title.startswith("reminder due"):
            SessionRegistration.objects.bulk_create(
                [SessionRegistration(session=row, user=member) for member in members]
            )
        if row.title.startswith("overdue") and row.status == SessionStatus.LIVE:
            SessionAttendance.objects.bulk_create(
                [
                    SessionAttendance(
                        session=row, user=member, joined_at=row.start_time,
                        segment_started_at=row.start_time, last_seen_at=row.start_time,
                    )
                    for member in members
                ]
            )  # fmt: skip
    return len(made)


def insert_not_due(count: int, instructors: list[int]) -> None:
    """``count`` sessions no job has anything to do with, in one statement (``%%`` is SQL's
    modulo, escaped from the driver's placeholders).

    Nine in ten are history (ended, or canceled one in ten of those; archived; room
    deleted), from two days before NOW back over years; the rest are scheduled from
    three days after NOW on. Columns not named here take their model default.
    """
    from django.db import connection

    from sessions_app.models import TrainingSession

    past = "g.i %% 10 <> 0"
    start = (
        f"CASE WHEN {past} THEN %(now)s - interval '2 days' - g.i * interval '7 minutes' "
        f"ELSE %(now)s + interval '3 days' + g.i * interval '7 minutes' END"
    )
    canceled = f"({past} AND g.i %% 9 = 0)"
    ended = f"({past} AND g.i %% 9 <> 0)"
    expressions = {
        "id": "gen_random_uuid()",
        "event_id": "NULL",
        "instructor_id": "(%(instructors)s::bigint[])[1 + g.i %% %(n_instructors)s]",
        "title": "'Stored ' || g.i",
        "start_time": start,
        "duration_minutes": "60",
        "end_time": f"({start}) + interval '60 minutes'",
        "status": f"CASE WHEN {canceled} THEN 'canceled' WHEN {ended} THEN 'ended' "
        "ELSE 'scheduled' END",
        "started_at": f"CASE WHEN {ended} THEN {start} END",
        "ended_at": f"CASE WHEN {ended} THEN ({start}) + interval '60 minutes' END",
        "canceled_at": f"CASE WHEN {canceled} THEN ({start}) - interval '1 day' END",
        "end_reason": f"CASE WHEN {ended} THEN 'instructor' END",
        "room_status": f"CASE WHEN {past} THEN 'deleted' ELSE 'pending' END",
        "archived_at": f"CASE WHEN {past} THEN ({start}) + interval '8 days' END",
        "created_at": f"LEAST({start}, %(now)s) - interval '14 days'",
        "updated_at": "%(now)s - interval '1 day'",
    }
    params = {"now": NOW, "instructors": instructors, "n_instructors": len(instructors)}
    columns, values = [], []
    for field in TrainingSession._meta.concrete_fields:
        columns.append(connection.ops.quote_name(field.column))
        if field.column in expressions:
            values.append(expressions[field.column])
        elif field.null:
            values.append("NULL")
        else:
            name = f"default_{field.column}"
            params[name] = field.get_db_prep_save(field.get_default(), connection)
            values.append(f"%({name})s")
    table = connection.ops.quote_name(TrainingSession._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 (our own names)
            f"SELECT {', '.join(values)} FROM generate_series(1, %(count)s) AS g(i)",
            {**params, "count": count},
        )


# --- Putting the due work back ------------------------------------------------------------


def reset(job: str) -> None:
    """Make the job's due work due again, exactly as it was first stored."""
    from django_q.models import OrmQ

    from sessions_app.jobs.models import SessionEmail
    from sessions_app.models import RoomStatus, SessionAttendance, SessionStatus, TrainingSession

    sessions = TrainingSession.objects
    OrmQ.objects.all().delete()  # tasks the lifecycle queued for the workers
    if job == "ensure_rooms":
        sessions.filter(title__startswith="rooms due ").update(
            room_status=RoomStatus.PENDING, room_id=None, room_url=None, room_attempts=0,
            room_next_attempt_at=None,
        )  # fmt: skip
    elif job == "reminders":
        SessionEmail.objects.all().delete()
    elif job == "auto_end":
        overdue = sessions.filter(title__startswith="overdue ")
        for status, has_seats in ((SessionStatus.LIVE, True), (SessionStatus.SCHEDULED, False)):
            rows = overdue.filter(attendance__isnull=not has_seats).distinct()
            sessions.filter(pk__in=list(rows.values_list("pk", flat=True))).update(
                status=status, ended_at=None, end_reason=None
            )
        for seat in SessionAttendance.objects.filter(session__title__startswith="overdue "):
            seat.segment_started_at = seat.joined_at
            seat.left_at = None
            seat.watch_time_seconds = 0
            seat.save()
    elif job == "cleanup":
        sessions.filter(title__startswith="to retire ").update(
            room_status=RoomStatus.READY, room_next_attempt_at=None
        )
        sessions.filter(title__startswith="to archive ").update(archived_at=None)


def did_the_work(job: str, report) -> bool:
    expected = {
        "ensure_rooms": {"created": DUE},
        "reminders": {"sent": 4 * DUE},
        "auto_end": {"ended overdue": DUE // 2, "ended not started": DUE // 2},
        "cleanup": {"rooms retired": DUE, "archived": DUE},
    }[job]
    return all(report[label] >= count for label, count in expected.items())


def tick(job: str) -> tuple[float, int, object]:
    """One tick of ``job`` at NOW: (seconds, queries, report)."""
    import time_machine
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sessions_app.tasks import JOBS

    reset(job)
    connection.queries_log.clear()  # a full log would make the capture count nothing
    with time_machine.travel(NOW, tick=True), CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        report = JOBS[job](NOW)
        seconds = time.perf_counter() - started
    return seconds, len(queries), report


def run() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="rebuild the million rows")
    parser.add_argument("--drop", action="store_true", help="drop the million rows afterwards")
    args = parser.parse_args()

    common.configure(
        common.pg_url(SMALL), EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"
    )
    common.pg_create(SMALL)
    try:
        common.setup_django(migrate=False)
        from django.conf import settings

        settings.DEBUG = False
        for database, size in SIZES.items():
            if database == LARGE and not args.fresh and is_cached(database, size):
                print(f"  {database}: {size:,} sessions kept from an earlier run")
                continue
            arrange(database, size)

        from sessions_app.tasks import JOBS

        measured: dict[str, dict[str, list]] = {}
        for job in JOBS:
            measured[job] = {SMALL: [], LARGE: []}
            for _ in range(args.repeat + 1):  # the first of each is a warm-up
                for database in SIZES:
                    use(database)
                    seconds, queries, report = tick(job)
                    if not did_the_work(job, report):
                        raise common.CannotRun(f"{job} on {database} did not do its work: {report}")
                    measured[job][database].append((seconds, queries))
    finally:
        common.close_connections()
        common.pg_drop(SMALL)
        if args.drop:
            common.pg_drop(LARGE)

    rows, figures = [], {}
    for job, by_database in measured.items():
        small = statistics.median(s for s, _ in by_database[SMALL][1:])
        large = statistics.median(s for s, _ in by_database[LARGE][1:])
        queries = (by_database[SMALL][-1][1], by_database[LARGE][-1][1])
        ratio = large / small
        figures[job] = {
            "small_ms": round(small * 1000, 2), "large_ms": round(large * 1000, 2),
            "ratio": round(ratio, 3), "queries_small": queries[0], "queries_large": queries[1],
            "met": ratio <= GOAL,
        }  # fmt: skip
        rows.append(
            [job, f"{small * 1000:.1f} ms", f"{large * 1000:.1f} ms", f"{ratio:.2f}",
             f"{queries[0]} / {queries[1]}", "met" if ratio <= GOAL else "MISSED"]
        )  # fmt: skip
    common.print_table(
        f"P5 — one tick with 1,000 vs 1,000,000 stored sessions, {DUE} due per job "
        f"(goal: time ratio <= {GOAL})",
        ["job", "1,000 stored", "1,000,000 stored", "ratio", "queries", "goal"],
        rows,
    )
    common.save(
        "p5",
        {"figure": "P5", "goal": f"<= {GOAL}", "met": all(f["met"] for f in figures.values()),
         "due_per_job": DUE, "jobs": figures},
    )  # fmt: skip


if __name__ == "__main__":
    common.main(run)
