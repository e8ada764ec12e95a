"""Every index earns its writes: none is led by another, every foreign key is served by one,
and the database holds exactly the indexes the models declare."""

from __future__ import annotations

from typing import NamedTuple

import pytest
from django.apps import apps
from django.db import connection, models

OUR_APPS = ("wwmaa", "events_app", "sessions_app")
# Made by migrations on PostgreSQL alone, so no model declares them (0008's GIN index).
POSTGRESQL_ONLY = {"session_tags_gin_idx"}


def our_models() -> list[type[models.Model]]:
    return [
        model
        for app in OUR_APPS
        for model in apps.get_app_config(app).get_models()
        if model._meta.managed and not model._meta.proxy
    ]


def columns(model: type[models.Model], names) -> tuple[str, ...]:
    return tuple(model._meta.get_field(name).column for name in names)


class Declared(NamedTuple):
    name: str
    columns: tuple[str, ...]
    plain: bool  # a b-tree index of its own, on every row, of the columns as they are
    whole: bool  # on every row (no condition), so it serves any lookup it leads with


def declared(model: type[models.Model]) -> list[Declared]:
    """Every index the model asks for, unique constraints and the primary key included."""
    opts = model._meta
    found = [Declared("primary key", (opts.pk.column,), False, True)]
    for field in opts.local_concrete_fields:
        if field.unique and not field.primary_key:
            found.append(Declared(f"unique {field.name}", (field.column,), False, True))
        elif field.db_index and not field.primary_key:
            found.append(Declared(f"index of {field.name}", (field.column,), True, True))
    for index in opts.indexes:
        if not index.fields:
            continue
        plain = type(index) is models.Index and not index.condition and not index.opclasses
        names = [name.lstrip("-") for name in index.fields]
        found.append(Declared(index.name, columns(model, names), plain, index.condition is None))
    for constraint in opts.constraints:
        if isinstance(constraint, models.UniqueConstraint) and constraint.fields:
            cols = columns(model, constraint.fields)
            found.append(Declared(constraint.name, cols, False, constraint.condition is None))
    for fields in opts.unique_together:
        found.append(Declared(f"unique {fields}", columns(model, fields), False, True))
    return found


@pytest.mark.parametrize("model", our_models(), ids=lambda model: model._meta.label)
def test_no_plain_index_is_led_by_another(model):
    """A plain index whose columns start another index (or a unique constraint) serves no
    lookup the other does not, and costs every insert and update a second write."""
    indexes = declared(model)
    redundant = [
        f"{index.name} {index.columns} is led by {other.name} {other.columns}"
        for index in indexes
        if index.plain
        for other in indexes
        if other.whole
        and other.name != index.name
        and other.columns[: len(index.columns)] == index.columns
    ]
    assert redundant == []


@pytest.mark.parametrize("model", our_models(), ids=lambda model: model._meta.label)
def test_every_foreign_key_leads_an_index(model):
    """Joins, lookups by owner and the cascades of a delete all find a key's rows by it."""
    leading = {index.columns[0] for index in declared(model) if index.whole}
    unserved = [
        field.name
        for field in model._meta.local_concrete_fields
        if field.is_relation and field.column not in leading
    ]
    assert unserved == []


@pytest.mark.django_db
@pytest.mark.parametrize("model", our_models(), ids=lambda model: model._meta.label)
def test_the_database_has_exactly_the_declared_indexes(model):
    """What the migrations built (some indexes are dropped by SQL of their own) is what the
    models say: no index left behind, none missing."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    in_database = sorted(
        tuple(info["columns"])
        for name, info in constraints.items()
        # PostgreSQL's LIKE index beside an indexed text column is Django's own doing.
        if (info["index"] or info["unique"] or info["primary_key"])
        and not name.endswith("_like")
        and name not in POSTGRESQL_ONLY
    )
    assert in_database == sorted(index.columns for index in declared(model))
