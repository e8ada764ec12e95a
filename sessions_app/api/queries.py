"""Querysets the API reads sessions through: visibility, joins and per-row counts.

One query answers a whole page, whatever its size: the instructor and the event come
through a join, the seats taken and the caller's own seat and registration through
subqueries, so ``can_join`` can be answered for every row without asking again.
"""

from __future__ import annotations

import functools

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from sessions_app.models import SessionAttendance, SessionRegistration, TrainingSession


@functools.cache
def _seats_taken() -> Coalesce:
    # The same for every caller, so built once: building it cost as much as running the
    # page's query. (Each annotate() resolves its own copy.)
    taken = (
        SessionAttendance.objects.filter(session=OuterRef("pk"))
        .exclude(user_id=OuterRef("instructor_id"))
        .order_by()
        .values("session")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(taken, output_field=IntegerField()), 0)


def annotate_sessions(queryset: QuerySet[TrainingSession], user) -> QuerySet[TrainingSession]:
    """Add ``seats_taken``, ``caller_holds_seat`` and ``caller_registered`` to each row.

    ``seats_taken`` counts attendance rows of people other than the instructor, as
    ``sessions_app.services.eligibility.seats_taken`` does for one session.
    """
    queryset = queryset.select_related("instructor", "event").annotate(seats_taken=_seats_taken())
    if user is None or not user.is_authenticated:
        return queryset.annotate(
            caller_holds_seat=Value(False, output_field=BooleanField()),
            caller_registered=Value(False, output_field=BooleanField()),
        )
    return queryset.annotate(
        caller_holds_seat=Exists(
            SessionAttendance.objects.filter(session=OuterRef("pk"), user_id=user.pk)
        ),
        caller_registered=Exists(
            SessionRegistration.objects.filter(session=OuterRef("pk"), user_id=user.pk)
        ),
    )


def sessions_for(user) -> QuerySet[TrainingSession]:
    """Every session ``user`` may see (archived ones included), annotated for the API."""
    return annotate_sessions(TrainingSession.objects.visible_to(user), user)
