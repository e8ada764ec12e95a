"""``__any_of``: ``__in``'s rows, with one array parameter on PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions_app.models import TrainingSession

pytestmark = pytest.mark.django_db


@pytest.fixture
def sessions(make_session):
    return [make_session(title=f"Class {n}") for n in range(5)]


def ids(queryset) -> set:
    return set(queryset.values_list("pk", flat=True))


def test_any_of_matches_what_in_matches(sessions):
    wanted = [sessions[0].pk, sessions[3].pk, uuid.uuid4()]

    objects = TrainingSession.objects
    assert ids(objects.filter(pk__any_of=wanted)) == {sessions[0].pk, sessions[3].pk}
    assert ids(objects.filter(pk__any_of=wanted)) == ids(objects.filter(pk__in=wanted))
    assert ids(objects.exclude(pk__any_of=wanted)) == {s.pk for s in sessions[1:3] + sessions[4:]}


def test_any_of_on_text_and_integer_columns(sessions):
    objects = TrainingSession.objects

    assert ids(objects.filter(title__any_of=["Class 1", "Class 4", "nobody"])) == {
        sessions[1].pk,
        sessions[4].pk,
    }
    assert ids(objects.filter(duration_minutes__any_of=[60, 90])) == {s.pk for s in sessions}
    assert not objects.filter(duration_minutes__any_of=[45]).exists()


def test_values_given_as_text_are_prepared_like_in(sessions):
    assert ids(TrainingSession.objects.filter(pk__any_of=[str(sessions[2].pk)])) == {sessions[2].pk}


def test_an_empty_list_or_only_none_matches_nothing(sessions):
    assert not TrainingSession.objects.filter(pk__any_of=[]).exists()
    assert not TrainingSession.objects.filter(pk__any_of=[None]).exists()
    assert ids(TrainingSession.objects.filter(pk__any_of=[None, sessions[1].pk])) == {
        sessions[1].pk
    }


def test_a_subquery_works_as_in_does(sessions):
    some = TrainingSession.objects.filter(title__in=["Class 0", "Class 2"]).values("pk")

    assert ids(TrainingSession.objects.filter(pk__any_of=some)) == {
        sessions[0].pk,
        sessions[2].pk,
    }


def test_on_postgresql_the_list_is_one_parameter(sessions):
    wanted = [s.pk for s in sessions]

    with CaptureQueriesContext(connection) as queries:
        assert ids(TrainingSession.objects.filter(pk__any_of=wanted)) == set(wanted)

    sql = queries.captured_queries[0]["sql"]
    if connection.vendor == "postgresql":
        assert "= ANY(" in sql and "::uuid[]" in sql
        assert " IN (" not in sql
    else:
        assert " IN (" in sql
