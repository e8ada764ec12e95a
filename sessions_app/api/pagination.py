"""``limit``/``offset`` pagination: ``count``, ``next``, ``previous`` and ``results``.

Stricter than DRF's own: a ``limit`` or ``offset`` that is not a whole number in range is
a 400, not silently replaced by the default, so a client's bug shows at once. A ``limit``
above the cap is lowered to it.
"""

from __future__ import annotations

from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import ValidationError

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Far beyond any real listing, and small enough that offset + limit stays a valid SQL
# integer on every database (a larger one would fail inside the driver).
MAX_OFFSET = 10**9


def _whole_number(request, name: str, default: int, low: int, high: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: ["A whole number is required."]}) from None
    if value < low:
        raise ValidationError({name: [f"Ensure this value is greater than or equal to {low}."]})
    if high is not None and value > high:
        raise ValidationError({name: [f"Ensure this value is less than or equal to {high}."]})
    return value


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    default_limit = DEFAULT_LIMIT
    max_limit = MAX_LIMIT

    def get_limit(self, request) -> int:
        return min(
            _whole_number(request, self.limit_query_param, DEFAULT_LIMIT, 1, None), MAX_LIMIT
        )

    def get_offset(self, request) -> int:
        return _whole_number(request, self.offset_query_param, 0, 0, MAX_OFFSET)

    def paginate_queryset(self, queryset, request, view=None, counted=None) -> list:
        """A page of ``queryset``, and ``count``, the number of rows in all pages.

        The page is read with one row more than it shows: without that row, the page is
        the last one, and the rows are counted without asking the database again (a list
        that fits in one page, most often). A page followed by more rows, or one past the
        end, is counted with a query, on ``counted`` when given: the same rows without
        what only shapes each of them (per-row counts, joined columns), which makes the
        count cheaper to build and to run. ``counted`` may be a function that builds them,
        called only then.
        """
        self.request = request
        self.limit = self.get_limit(request)
        # Checked before any query, so that a bad offset costs none.
        self.offset = self.get_offset(request)
        rows = list(queryset[self.offset : self.offset + self.limit + 1])
        if len(rows) <= self.limit and (rows or self.offset == 0):
            self.count = self.offset + len(rows)
        else:
            if callable(counted):
                counted = counted()
            self.count = self.get_count(queryset if counted is None else counted)
        if self.count > self.limit and self.template is not None:
            self.display_page_controls = True
        return rows[: self.limit]

    def get_schema_operation_parameters(self, view) -> list[dict[str, Any]]:
        return [
            {
                "name": self.limit_query_param,
                "required": False,
                "in": "query",
                "description": (
                    f"Number of results to return (default {DEFAULT_LIMIT}; values above "
                    f"{MAX_LIMIT} are lowered to {MAX_LIMIT})."
                ),
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.offset_query_param,
                "required": False,
                "in": "query",
                "description": "Index of the first result to return.",
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
            },
        ]
