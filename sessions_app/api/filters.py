"""Query parameters of the session lists: filters and sorting, with django-filter.

A value that cannot be understood (an unknown status or sort key, ``upcoming=maybe``, a
non-number instructor) is a 400 naming the parameter, never silently ignored.
"""

from __future__ import annotations

from typing import Any, ClassVar

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend

from sessions_app.api.serializers import MAX_ID
from sessions_app.models import SessionStatus, TrainingSession
from sessions_app.services.validation import clean_tags

SORT_KEYS = ("start_time", "created_at", "title")
SORT_ORDERS = ("asc", "desc")


class StrictBooleanField(forms.Field):
    """``true``/``false`` (or ``1``/``0``); anything else is an error, not "unset"."""

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in {"true", "1"}:
            return True
        if text in {"false", "0"}:
            return False
        raise ValidationError("Must be true or false.", code="invalid")


class StrictBooleanFilter(django_filters.Filter):
    field_class = StrictBooleanField


class IdFilter(django_filters.Filter):
    """A user id: a whole number in the range a primary key can have."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class TagField(forms.CharField):
    """One tag, normalised as tags are stored (trimmed, lower case)."""

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        if not value:
            return value
        return clean_tags([value])[0]


class TagFilter(django_filters.Filter):
    field_class = TagField


class FilterSet(django_filters.FilterSet):
    """django-filter's ``FilterSet``, building its form class once rather than per request.

    django-filter makes a new form class, with new fields, for every filter set it
    creates: a third of a list request's filtering. Nothing in these forms depends on the
    request, and each form still gets its own copies of the fields (Django's forms copy
    their class's fields).
    """

    _form_classes: ClassVar[dict[type, type]] = {}

    def get_form_class(self) -> type[forms.Form]:
        key = type(self)
        if key not in self._form_classes:
            self._form_classes[key] = super().get_form_class()
        return self._form_classes[key]

    @classmethod
    def unfiltered(cls, queryset: QuerySet) -> QuerySet:
        """What ``filter_queryset`` gives for a request that names none of the filters:
        each filter leaves a queryset as it is when its parameter is absent."""
        return queryset


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, skipping the filter set when the request names none of
    its parameters (most list requests): building one copies its filters and builds its
    form, about a twentieth of a list request, to filter nothing. The answer is the
    set's ``unfiltered`` (``tests/api/test_session_filters.py`` holds the two equal)."""

    def filter_queryset(self, request, queryset: QuerySet, view) -> QuerySet:
        filterset_class = self.get_filterset_class(view, queryset)
        if (
            filterset_class is not None
            and issubclass(filterset_class, FilterSet)
            and names_no_filter(request, filterset_class)
        ):
            return filterset_class.unfiltered(queryset)
        return super().filter_queryset(request, queryset, view)


def names_no_filter(request, filterset_class: type[FilterSet]) -> bool:
    """Whether ``request`` names none of the filter set's parameters, so that its list is
    the set's ``unfiltered`` one."""
    return request.query_params.keys().isdisjoint(filterset_class.base_filters)


class UpcomingSessionFilter(FilterSet):
    instructor = IdFilter(field_name="instructor_id", help_text="Only this instructor's (user id).")

    class Meta:
        model = TrainingSession
        fields: list[str] = []


class SessionFilter(UpcomingSessionFilter):
    status = django_filters.MultipleChoiceFilter(
        choices=SessionStatus.choices,
        help_text="One status, or several as repeated parameters (status=live&status=scheduled).",
    )
    event = django_filters.UUIDFilter(field_name="event_id", help_text="Sessions of this event.")
    tag = TagFilter(method="filter_tag", help_text="Sessions carrying this tag.")
    upcoming = StrictBooleanFilter(
        method="filter_upcoming",
        help_text="true: only scheduled sessions that start in the future; false: all others.",
    )
    include_archived = StrictBooleanFilter(
        method="applied_later", help_text="Archived sessions are left out unless true."
    )
    sort_by = django_filters.ChoiceFilter(
        choices=[(key, key) for key in SORT_KEYS],
        method="sorted_later",
        help_text="Sort key (default start_time).",
    )
    sort_order = django_filters.ChoiceFilter(
        choices=[(order, order) for order in SORT_ORDERS],
        method="sorted_later",
        help_text="asc (default) or desc.",
    )

    def filter_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(tags__has_tag=value)

    def filter_upcoming(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        now = timezone.now()
        if value:
            return queryset.upcoming(now)
        return queryset.exclude(status=SessionStatus.SCHEDULED, start_time__gt=now)

    # Read in filter_queryset: these shape the whole listing rather than filter it. (The
    # type hints tell the OpenAPI generator what the parameters hold.)
    def applied_later(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset

    def sorted_later(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        return self.shaped(
            queryset,
            include_archived=bool(data.get("include_archived")),
            sort_by=data.get("sort_by") or "start_time",
            descending=data.get("sort_order") == "desc",
        )

    @classmethod
    def unfiltered(cls, queryset: QuerySet) -> QuerySet:
        return cls.shaped(queryset, include_archived=False, sort_by="start_time", descending=False)

    @staticmethod
    def shaped(
        queryset: QuerySet, *, include_archived: bool, sort_by: str, descending: bool
    ) -> QuerySet:
        """The listing's archive rule and order, whatever filtered it."""
        if not include_archived:
            queryset = queryset.not_archived()
        sign = "-" if descending else ""
        # Ties broken by id, so that pages never repeat or skip a row.
        tie_breaks = [name for name in ("start_time", "title") if name != sort_by]
        return queryset.order_by(*(f"{sign}{name}" for name in (sort_by, *tie_breaks, "id")))
