"""The PostgreSQL backend (``wwmaa.postgresql``): timestamps read by psycopg's loader."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader

from sessions_app.models import TrainingSession

INSTANTS = [
    "2026-06-01 18:00:00+00",
    "2026-06-01 18:00:00.000001+00",
    "2026-03-29 01:30:00+02",  # an offset: the same instant in UTC
    "1969-12-31 23:59:59.5+00",
    "2000-02-29 12:00:00-07:30",
    "9999-12-31 23:59:59.999999+00",
]

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL only (CI's second run)"
)


def wrapper(settings_dict: dict):
    from wwmaa.postgresql.base import DatabaseWrapper

    return DatabaseWrapper({**connection.settings_dict, **settings_dict}, alias="other")


def test_a_utc_connection_reads_timestamps_with_our_loader():
    from wwmaa.postgresql.base import TIMESTAMPTZ_OID, UTCTimestamptzLoader

    context = wrapper({"TIME_ZONE": None}).get_connection_params()["context"]

    loader = context.get_loader(TIMESTAMPTZ_OID, 0)
    assert loader is UTCTimestamptzLoader
    assert loader.timezone is UTC


def test_a_database_time_zone_other_than_utc_keeps_djangos_loader():
    from wwmaa.postgresql.base import TIMESTAMPTZ_OID, UTCTimestamptzLoader

    context = wrapper({"TIME_ZONE": "Europe/Paris"}).get_connection_params()["context"]

    loader = context.get_loader(TIMESTAMPTZ_OID, 0)
    assert loader is not UTCTimestamptzLoader
    assert str(loader.timezone) == "Europe/Paris"


def read(instants: list[str], *, djangos: bool = False) -> list[datetime]:
    with connection.cursor() as cursor:
        if djangos:
            register_tzloader(UTC, cursor.cursor)
        cursor.execute(
            "SELECT value::timestamptz FROM unnest(%s::text[]) WITH ORDINALITY AS t(value, n) "
            "ORDER BY n",
            [instants],
        )
        return [value for (value,) in cursor.fetchall()]


@on_postgresql
@pytest.mark.django_db
def test_timestamps_read_as_djangos_loader_reads_them():
    ours, djangos = read(INSTANTS), read(INSTANTS, djangos=True)

    assert ours == djangos
    assert [value.tzinfo for value in ours] == [UTC] * len(INSTANTS)
    assert [value.utcoffset() for value in ours] == [timedelta(0)] * len(INSTANTS)
    assert ours[2] == datetime(2026, 3, 28, 23, 30, tzinfo=UTC)
    assert ours[1].microsecond == 1


@on_postgresql
@pytest.mark.django_db
def test_the_connection_reads_with_our_loader_and_the_orm_gets_utc_instants(make_session):
    from wwmaa.postgresql.base import TIMESTAMPTZ_OID, UTCTimestamptzLoader

    start = datetime(2026, 6, 1, 18, 0, 0, 250, tzinfo=UTC)
    session = make_session(start_time=start)

    connection.ensure_connection()
    adapters = connection.connection.adapters
    assert adapters.get_loader(TIMESTAMPTZ_OID, 0) is UTCTimestamptzLoader
    stored = TrainingSession.objects.get(pk=session.pk)
    assert stored.start_time == start
    assert stored.start_time.tzinfo is UTC
    assert stored.end_time == start + timedelta(minutes=stored.duration_minutes)
