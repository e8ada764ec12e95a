"""The session lists skip their filter set when no filter is asked for, with the same answer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import QueryDict
from rest_framework.test import APIRequestFactory

from sessions_app.api.filters import SessionFilter, UpcomingSessionFilter
from sessions_app.models import TrainingSession
from tests.api.conftest import SESSIONS, client_for
from tests.conftest import NOW


@pytest.mark.parametrize("filterset_class", [SessionFilter, UpcomingSessionFilter])
@pytest.mark.parametrize("viewer", ["anonymous", "member"])
def test_unfiltered_is_what_the_filter_set_gives_without_parameters(
    filterset_class, viewer, member
):
    user = member if viewer == "member" else AnonymousUser()
    queryset = TrainingSession.objects.visible_to(user)
    request = APIRequestFactory().get(SESSIONS)
    request.user = user

    built = filterset_class(data=QueryDict(""), queryset=queryset, request=request)

    assert built.is_valid()
    assert str(filterset_class.unfiltered(queryset).query) == str(built.qs.query)


def test_the_list_answers_alike_with_no_filter_and_with_the_defaults_named(
    frozen, member, make_session
):
    hour = timedelta(hours=1)
    make_session(title="Later", start_time=NOW + 3 * hour)
    make_session(title="B same time", start_time=NOW + 2 * hour)
    make_session(title="A same time", start_time=NOW + 2 * hour)
    make_session(title="Archived", start_time=NOW - 30 * hour, archived_at=NOW - hour)
    client = client_for(member)
    defaults = {"include_archived": "false", "sort_by": "start_time", "sort_order": "asc"}

    plain = client.get(SESSIONS, {"limit": 10})
    named = client.get(SESSIONS, {"limit": 10, **defaults})

    assert plain.status_code == named.status_code == 200
    assert plain.json() == named.json()
    assert [row["title"] for row in plain.json()["results"]] == [
        "A same time",
        "B same time",
        "Later",
    ]
