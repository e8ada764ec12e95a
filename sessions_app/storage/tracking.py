"""Every write of a mirrored model queues an outbox entry in the same transaction.

Django's ``post_save`` fires after ``save()``'s own transaction for a plain model, and no
signal fires for ``QuerySet.update()``, ``bulk_update()`` or ``bulk_create()``. So:

* ``MirroredModel.save()`` wraps the save and the enqueue in one ``atomic`` block;
* ``MirroredQuerySet`` does the same for ``update`` (the lifecycle's conditional UPDATEs),
  ``bulk_update`` and ``bulk_create``;
* deletes — ``Model.delete()``, ``QuerySet.delete()`` and cascades — all go through
  Django's deletion collector, which sends ``post_delete`` inside its transaction; a
  receiver is connected for every mirrored model (which also turns off the collector's
  signal-less "fast delete" for them).

A write of fields the documents do not carry (``TableSpec.watches``) queues nothing.

The blocks are ``atomic(savepoint=False)``, like Django's own ``save()`` and ``update()``:
an error marks the caller's transaction for rollback, so the change and its entry commit
together or not at all, without a savepoint round trip per write.

Raw SQL and ``_base_manager.update()`` bypass this. The one raw write of a mirrored row,
a join's seat taken in one statement (``sessions_app.services.joining``), queues it with
``queue_saved`` in its transaction.
"""

from __future__ import annotations

from typing import Any

from django.db import models, router, transaction
from django.db.models import Q
from django.db.models.signals import post_delete

from sessions_app.storage import outbox
from sessions_app.storage.fieldmap import TableSpec, spec_for_model
from sessions_app.storage.models import OutboxOp

_CHUNK = 500


def spec_for(model: type[models.Model]) -> TableSpec:
    spec = spec_for_model(model)
    if spec is None:
        raise TypeError(f"{model._meta.label} is not mirrored to ZeroDB (see fieldmap.TABLES)")
    return spec


def _table(model: type[models.Model]) -> str:
    return spec_for(model).name


class MirroredQuerySet(models.QuerySet):
    """A queryset whose bulk writes queue the rows they change."""

    def update(self, **kwargs: Any) -> int:
        if not self._mirrors(kwargs) or self.query.is_sliced:
            return super().update(**kwargs)
        with transaction.atomic(using=self.db, savepoint=False):
            # Lock the matching rows first so that exactly these are updated and queued:
            # on PostgreSQL a row committed in between would otherwise be updated but not
            # queued. (SQLite's IMMEDIATE transactions already exclude other writers.)
            pks = list(
                self.order_by("pk").select_for_update(of=("self",)).values_list("pk", flat=True)
            )
            count = 0
            for start in range(0, len(pks), _CHUNK):
                chunk = self.filter(pk__in=pks[start : start + _CHUNK])
                count += super(MirroredQuerySet, chunk).update(**kwargs)
            outbox.enqueue(((_table(self.model), pk) for pk in pks), OutboxOp.UPDATE, using=self.db)
        return count

    update.alters_data = True

    def bulk_update(self, objs, fields, batch_size=None) -> int:
        if not self._mirrors(fields):
            return super().bulk_update(objs, fields, batch_size=batch_size)
        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            count = super().bulk_update(objs, fields, batch_size=batch_size)
            outbox.enqueue(
                ((_table(self.model), obj.pk) for obj in objs), OutboxOp.UPDATE, using=self.db
            )
        return count

    bulk_update.alters_data = True

    def bulk_create(self, objs, *args: Any, **kwargs: Any):
        if not outbox.is_enabled():
            return super().bulk_create(objs, *args, **kwargs)
        objs = list(objs)
        table = _table(self.model)
        with transaction.atomic(using=self.db, savepoint=False):
            created = super().bulk_create(objs, *args, **kwargs)
            pks = [obj.pk for obj in created]
            unique_fields = kwargs.get("unique_fields")
            if kwargs.get("update_conflicts") and unique_fields:
                # A conflicting row was updated in place: find it by its unique fields.
                pks += list(self._rows_matching(created, unique_fields))
            rows = [(table, pk) for pk in pks] + outbox.parents_of(table, created)
            outbox.enqueue(rows, OutboxOp.CREATE, using=self.db)
        return created

    bulk_create.alters_data = True

    def _mirrors(self, field_names) -> bool:
        return outbox.is_enabled() and spec_for(self.model).watches(field_names)

    def _rows_matching(self, objs, unique_fields):
        attnames = [self.model._meta.get_field(name).attname for name in unique_fields]
        condition = Q()
        for obj in objs:
            condition |= Q(**{name: getattr(obj, name) for name in attnames})
        return (
            self.model._base_manager.using(self.db).filter(condition).values_list("pk", flat=True)
        )


class MirroredModel(models.Model):
    """A model whose saves and deletes queue an outbox entry in their transaction."""

    class Meta:
        abstract = True

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        # Connected per concrete model: the collector then deletes them one by one and
        # sends post_delete inside its transaction, cascades included.
        post_delete.connect(
            _queue_deleted,
            sender=cls,
            weak=False,
            dispatch_uid=f"zerodb-outbox:{cls.__module__}.{cls.__qualname__}",
        )

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if not outbox.is_enabled() or (
            update_fields is not None and not spec_for(type(self)).watches(update_fields)
        ):
            return super().save(*args, **kwargs)
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        created = self._state.adding
        with transaction.atomic(using=using, savepoint=False):
            super().save(*args, **kwargs)
            queue_saved(self, created=created, using=using)
        return None

    save.alters_data = True


def queue_saved(obj: MirroredModel, *, created: bool, using: str) -> None:
    """Queue ``obj``'s row (and, when it was just created, the parents that count it).

    ``save()`` calls it; so does a write by hand-written SQL of a mirrored row, inside
    the transaction of that write. Does nothing when the mirror is off (``enqueue``).
    """
    table = _table(type(obj))
    rows = [(table, obj.pk)]
    if created:
        rows += outbox.parents_of(table, [obj])
    outbox.enqueue(rows, OutboxOp.CREATE if created else OutboxOp.UPDATE, using=using)


def _queue_deleted(sender, instance, using, **kwargs) -> None:
    if not outbox.is_enabled() or spec_for_model(sender) is None:
        return
    table = _table(sender)
    rows = [(table, instance.pk), *outbox.parents_of(table, [instance])]
    outbox.enqueue(rows, OutboxOp.DELETE, using=using)
