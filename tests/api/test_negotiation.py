"""The API's content negotiation answers as DRF's does, whatever is asked."""

from __future__ import annotations

import pytest
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from sessions_app.api.negotiation import ContentNegotiation
from tests.api.conftest import SESSIONS, client_for

RENDERER_LISTS = [
    [JSONRenderer()],
    [OpenApiYamlRenderer(), OpenApiJsonRenderer()],
    [JSONRenderer(), BrowsableAPIRenderer()],
]
ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=4",
    "application/vnd.oai.openapi",
    "application/vnd.oai.openapi+json",
    "text/html",
    "text/html, */*;q=0.1",
    "application/xml",
    "",
]


def choice(negotiation, accept, renderers, query="", suffix=None):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"{SESSIONS}{query}", **headers))
    try:
        renderer, media_type = negotiation.select_renderer(request, renderers, suffix)
    except NotAcceptable:
        return "406"
    return type(renderer).__name__, media_type


@pytest.mark.parametrize("renderers", RENDERER_LISTS, ids=lambda r: type(r[0]).__name__)
@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize(("query", "suffix"), [("", None), ("?format=json", None), ("", "json")])
def test_the_renderer_is_the_one_drf_picks(renderers, accept, query, suffix):
    ours = choice(ContentNegotiation(), accept, renderers, query, suffix)

    assert ours == choice(DefaultContentNegotiation(), accept, renderers, query, suffix)


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_the_api_answers_json_when_nothing_or_anything_is_asked(frozen, member, accept):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    response = client_for(member).get(SESSIONS, **headers)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
