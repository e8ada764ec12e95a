"""Querysets the API reads sessions through: visibility, joins and per-row counts.

One query answers a whole page, whatever its size: the instructor and the event come
through a join, the seats taken and the caller's own seat and registration through
subqueries, so ``can_join`` can be answered for every row without asking again.
"""

from __future__ import annotations

from django.db.models import QuerySet

from sessions_app.api.listing import counted_columns
from sessions_app.models import TrainingSession
from sessions_app.services.eligibility import caller_id


def annotate_sessions(queryset: QuerySet[TrainingSession], user) -> QuerySet[TrainingSession]:
    """Add ``seats_taken``, ``caller_holds_seat`` and ``caller_registered`` to each row.

    ``seats_taken`` counts attendance rows of people other than the instructor, as
    ``sessions_app.services.eligibility.seats_taken`` does for one session. The columns
    are the session lists' SQL of them (``listing.counted_columns``), so every page counts
    seats the same way.
    """
    return queryset.select_related("instructor", "event").annotate(
        **counted_columns(queryset.db, caller_id(user))
    )


def sessions_for(user) -> QuerySet[TrainingSession]:
    """Every session ``user`` may see (archived ones included), annotated for the API."""
    return annotate_sessions(TrainingSession.objects.visible_to(user), user)
