"""End to end against a fake ZeroDB that fails, rate-limits, stalls and loses answers.

Thousands of changes are made through the ORM while the fake misbehaves and workers
drain in between; after it recovers, every row in the fake must equal its local row, with
no duplicates, an empty outbox and no dead letters.
"""

from __future__ import annotations

import random
import threading
import uuid
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from events_app.models import Event
from sessions_app.models import SessionAttendance, SessionStatus, TrainingSession
from sessions_app.storage.client import ZeroDBClient
from sessions_app.storage.delivery import LATE_STORE_GRACE, drain
from sessions_app.storage.fieldmap import TABLES
from sessions_app.storage.models import OutboxEntry, RowMapping
from tests.conftest import make_user
from tests.fakes.zerodb_server import FakeZeroDB
from wwmaa.models import Role

pytestmark = pytest.mark.django_db(transaction=True)

CHANGES = 2000


class Clock:
    """The workers' notion of now: real time plus however long the test pretends passed."""

    def __init__(self):
        self.offset = timedelta(0)

    def now(self):
        return timezone.now() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture(autouse=True)
def fewer_disk_flushes():
    """No disk flush per commit for this test's own connection: it counts rows, not
    flushes, and thousands of commits cost a minute on a slow disk. (SQLite's WAL and
    PostgreSQL keep the data consistent either way; only the last commits of a crashed
    machine could be lost, which no test is about.)"""
    statement = {
        "sqlite": "PRAGMA synchronous = NORMAL",
        "postgresql": "SET synchronous_commit TO OFF",
    }.get(connection.vendor)
    if statement:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    yield
    connection.close()  # the next test gets a connection with the settings' defaults


@pytest.fixture(autouse=True)
def no_kicks(monkeypatch):
    """The test drives the workers itself; the kick to the broker is tested elsewhere."""
    monkeypatch.setattr("sessions_app.storage.outbox.kick", lambda: None)


@pytest.fixture
def fake(settings):
    server = FakeZeroDB(insert_status=200, list_shape="rows", query_shape="rows", stall_seconds=1)
    with server:
        settings.ZERODB_API_KEY = server.api_key
        settings.ZERODB_PROJECT_ID = server.project_id
        settings.ZERODB_API_BASE_URL = server.url
        settings.ZERODB_AUTH_HEADER = "x-api-key"
        settings.ZERODB_PATH_PREFIX = "/v1/projects/{project_id}/database"
        settings.ZERODB_TIMEOUT_SECONDS = 0.25
        settings.ZERODB_RETRIES = 1
        settings.ZERODB_SEND_THREADS = 4  # several rows in flight while the fake misbehaves
        yield server


@pytest.fixture
def worker_client(fake):
    client = ZeroDBClient.from_settings(sleep=lambda seconds: None)
    yield client
    client.close()


def assert_mirrored(fake: FakeZeroDB) -> None:
    """Every local row is in the fake exactly once, with the same document; nothing else."""
    for spec in TABLES.values():
        remote = fake.documents_by_id(spec.name)
        local = {str(obj.pk): spec.to_document(obj) for obj in spec.rows()}
        duplicated = {key: len(docs) for key, docs in remote.items() if len(docs) > 1}
        assert duplicated == {}, spec.name
        assert set(remote) == set(local), spec.name
        different = [key for key, doc in local.items() if remote[key][0] != doc]
        assert different == [], spec.name


def drain_until_idle(client, clock, rounds: int = 50) -> None:
    for _ in range(rounds):
        clock.advance(3600)  # past every back-off and Retry-After
        report = drain(client, now=clock.now())
        if report.rows == 0 and not OutboxEntry.objects.exists():
            return
    raise AssertionError(f"the outbox did not drain: {OutboxEntry.objects.count()} left")


class Workload:
    """Random creates, changes and deletes of events, sessions and attendance."""

    def __init__(self, seed: int = 7):
        self.rng = random.Random(seed)
        self.instructors = [make_user(f"teacher{i}", Role.INSTRUCTOR) for i in range(5)]
        self.members = [make_user(f"student{i}", Role.MEMBER) for i in range(30)]
        self.start = timezone.now() + timedelta(days=1)
        self.changes = 0

    def pick(self, model):
        ids = list(model.objects.values_list("pk", flat=True)[:200])
        return model.objects.get(pk=self.rng.choice(ids)) if ids else None

    def step(self) -> None:
        """One transaction of one to three changes."""
        with transaction.atomic():
            for _ in range(self.rng.randint(1, 3)):
                self.change()

    def change(self) -> None:
        rng = self.rng
        roll = rng.random()
        self.changes += 1
        if roll < 0.08 or not Event.objects.exists():
            Event.objects.create(
                title=f"Event {self.changes}",
                starts_at=self.start,
                ends_at=self.start + timedelta(days=3),
                is_public=rng.random() < 0.5,
            )
        elif roll < 0.12:
            event = self.pick(Event)
            event.title = f"Event renamed {self.changes}"
            event.save(update_fields=["title", "updated_at"])
        elif roll < 0.14:
            spare = Event.objects.filter(training_sessions__isnull=True).order_by("?").first()
            if spare is not None:
                spare.delete()
        elif roll < 0.32 or not TrainingSession.objects.exists():
            TrainingSession.objects.create(
                instructor=rng.choice(self.instructors),
                event=self.pick(Event) if rng.random() < 0.5 else None,
                title=f"Session {self.changes}",
                start_time=self.start + timedelta(hours=rng.randint(0, 500)),
                duration_minutes=rng.choice([30, 45, 60, 90]),
                capacity=rng.choice([None, 10, 20]),
                tags=rng.sample(["kata", "kumite", "weapons", "beginners"], k=2),
            )
        elif roll < 0.45:
            session = self.pick(TrainingSession)
            session.description = f"Changed at {self.changes}"
            session.save()
        elif roll < 0.55:
            session = self.pick(TrainingSession)
            # The lifecycle's conditional UPDATE.
            TrainingSession.objects.filter(pk=session.pk, status=session.status).update(
                status=rng.choice([SessionStatus.LIVE, SessionStatus.ENDED]),
                started_at=timezone.now(),
                room_id=f"room-{self.changes}",
                updated_at=timezone.now(),
            )
        elif roll < 0.72:
            session = self.pick(TrainingSession)
            taken = set(session.attendance.values_list("user_id", flat=True))
            free = [m for m in self.members if m.pk not in taken]
            if free:
                SessionAttendance.objects.create(
                    session=session, user=rng.choice(free), joined_at=timezone.now()
                )
        elif roll < 0.82:
            rows = list(SessionAttendance.objects.order_by("?")[:3])
            for row in rows:
                row.watch_time_seconds += rng.randint(1, 600)
                row.left_at = timezone.now()
            SessionAttendance.objects.bulk_update(rows, ["watch_time_seconds", "left_at"])
        elif roll < 0.90:
            SessionAttendance.objects.filter(
                pk__in=list(
                    SessionAttendance.objects.order_by("?").values_list("pk", flat=True)[:2]
                )
            ).update(last_seen_at=timezone.now(), updated_at=timezone.now())
        elif roll < 0.96:
            row = self.pick(SessionAttendance)
            if row:
                row.delete()
        else:
            session = self.pick(TrainingSession)
            session.delete()  # its attendance goes with it


# (first change, fault) — the fake's behaviour from that change on.
PHASES = [
    (0, None),
    (300, "503"),
    (650, "429"),
    (950, "stall"),
    (1100, "drop inserts"),
    (1350, "flaky"),
    (CHANGES, None),
]


def set_phase(fake: FakeZeroDB, name: str | None) -> None:
    fake.heal()
    if name == "503":
        fake.fail(503)
    elif name == "429":
        fake.fail(429, retry_after="2")
    elif name == "stall":
        fake.stall()
    elif name == "drop inserts":
        fake.drop_answers(methods=("POST",), path_contains="/rows")
    elif name == "flaky":
        fake.flaky(0.3, seed=11)


def test_thousands_of_changes_survive_a_misbehaving_zerodb(fake, worker_client):
    clock = Clock()
    workload = Workload()
    phases = iter(PHASES)
    next_phase = next(phases)
    while workload.changes < CHANGES:
        if workload.changes >= next_phase[0]:
            set_phase(fake, next_phase[1])
            next_phase = next(phases)
        workload.step()
        if workload.rng.random() < 0.08:
            drain(worker_client, now=clock.now(), max_rows=25)
            clock.advance(workload.rng.randint(1, 20))

    kinds = {status for _, _, status in fake.log}
    assert {503, 429, "stall", "dropped"} <= kinds  # every fault really happened
    set_phase(fake, None)
    drain_until_idle(worker_client, clock)

    assert_mirrored(fake)
    assert OutboxEntry.objects.count() == 0  # nothing pending, nothing dead
    assert not RowMapping.objects.filter(needs_lookup=True).exists()
    assert workload.changes >= CHANGES


def test_an_unanswered_insert_the_fake_stored_is_not_duplicated(fake, worker_client):
    clock = Clock()
    event = Event.objects.create(
        title="Camp", starts_at=timezone.now(), ends_at=timezone.now() + timedelta(days=1)
    )
    fake.tables["events"] = {}
    fake.drop_answers(times=1, methods=("POST",), path_contains="/rows")

    report = drain(worker_client, now=clock.now())
    assert report.retrying == 1
    assert len(fake.rows("events")) == 1  # stored, but we never heard

    clock.advance(LATE_STORE_GRACE.total_seconds())
    assert drain(worker_client, now=clock.now()).delivered == 1
    assert len(fake.rows("events")) == 1
    assert fake.calls("POST", "/tables/events/rows") == 1
    assert fake.calls("POST", "/tables/events/query") == 1
    assert RowMapping.objects.get(object_id=event.pk).row_id == fake.rows("events")[0]["row_id"]
    assert_mirrored(fake)


def test_two_workers_draining_at_once_deliver_each_row_once(fake, worker_client, settings):
    # No stalls here: a generous timeout, so a loaded machine cannot turn a slow answer
    # into an "unanswered insert" that waits a minute before its look-up.
    settings.ZERODB_TIMEOUT_SECONDS = 10
    instructor = make_user("teacher", Role.INSTRUCTOR)
    start = timezone.now() + timedelta(days=1)
    fake.tables["training_sessions"] = {}
    TrainingSession.objects.bulk_create(
        [
            TrainingSession(
                instructor=instructor,
                title=f"S{i}",
                start_time=start + timedelta(hours=i),
                duration_minutes=60,
                end_time=start + timedelta(hours=i, minutes=60),
            )
            for i in range(120)
        ]
    )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker():
        client = ZeroDBClient.from_settings(sleep=lambda seconds: None)
        try:
            barrier.wait(timeout=10)
            drain(client)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            client.close()
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    close_old_connections()

    assert errors == []
    assert fake.calls("POST", "/tables/training_sessions/rows") == 120  # one insert per row
    assert OutboxEntry.objects.count() == 0
    assert_mirrored(fake)


@pytest.mark.parametrize(
    ("auth", "prefix"),
    [
        ("bearer", "/api/v1/public/{project_id}/database"),
        ("x-api-key", "/v1/projects/{project_id}/database"),
    ],
)
def test_both_auth_modes_and_prefixes_work_end_to_end(settings, auth, prefix):
    with FakeZeroDB(auth=auth, prefix=prefix, list_shape="bare", query_shape="data") as fake:
        settings.ZERODB_API_KEY = fake.api_key
        settings.ZERODB_PROJECT_ID = fake.project_id
        settings.ZERODB_API_BASE_URL = fake.url
        settings.ZERODB_AUTH_HEADER = auth
        settings.ZERODB_PATH_PREFIX = prefix
        event = Event.objects.create(
            title="Camp", starts_at=timezone.now(), ends_at=timezone.now() + timedelta(days=1)
        )
        report = drain()
        assert report.delivered == 1  # the table was missing: created, then the row inserted
        event.title = "Renamed"
        event.save()
        event_id = str(event.pk)
        event.delete()
        Event.objects.create(
            id=uuid.uuid4(), title="Other", starts_at=event.starts_at, ends_at=event.ends_at
        )
        assert drain().delivered == 2
        assert event_id not in fake.documents_by_id("events")
        assert_mirrored(fake)
