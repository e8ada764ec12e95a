"""The PostgreSQL backend (``wwmaa.postgresql``): its timestamp loader, its integer dumpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import DataError, connection, transaction
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.adapt import PyFormat
from psycopg.pq import Format
from psycopg.types.numeric import Int2, Int4, Int8

from sessions_app.models import TrainingSession
from tests.conftest import on_postgresql

INSTANTS = [
    "2026-06-01 18:00:00+00",
    "2026-06-01 18:00:00.000001+00",
    "2026-03-29 01:30:00+02",  # an offset: the same instant in UTC
    "1969-12-31 23:59:59.5+00",
    "2000-02-29 12:00:00-07:30",
    "9999-12-31 23:59:59.999999+00",
]


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


@pytest.mark.parametrize("time_zone", [None, "Europe/Paris"])
def test_integers_are_sent_as_text_whatever_the_time_zone(time_zone):
    context = wrapper({"TIME_ZONE": time_zone}).get_connection_params()["context"]

    for cls in (int, Int2, Int4, Int8):
        assert context.get_dumper(cls, PyFormat.AUTO).format is Format.TEXT, cls


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


@on_postgresql
@pytest.mark.django_db
@pytest.mark.parametrize("capacity", [65_586, 70_000, -65_486])
def test_a_smallint_out_of_range_is_refused_not_wrapped(make_session, capacity):
    # In binary, the instructor id (a plain int) first left a 2-byte dumper cached for
    # Int2, and 65,586 was stored as 50, a capacity its CHECK accepts.
    session = make_session(capacity=20)
    session.capacity = capacity

    with pytest.raises(DataError, match="out of range for type smallint"), transaction.atomic():
        session.save()

    assert TrainingSession.objects.get(pk=session.pk).capacity == 20


@on_postgresql
@pytest.mark.django_db
def test_a_plain_int_then_a_wrapped_one_in_one_statement_keep_their_values():
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::bigint, %s::bigint, %s::bigint", [1, Int4(70_000), Int8(2**40)])
        assert cursor.fetchone() == (1, 70_000, 2**40)
        with pytest.raises(DataError, match="out of range for type smallint"):
            cursor.execute("SELECT %s, %s::int", [1, Int2(65_586)])
