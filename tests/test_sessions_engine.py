"""``wwmaa.sessions``: the pages' sessions read as Django's database store reads them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.contrib.sessions.models import Session

from tests.conftest import NOW
from wwmaa.sessions import SessionStore

pytestmark = pytest.mark.django_db


def stored(data: dict) -> str:
    store = DjangoStore()
    store.update(data)
    store.create()
    return store.session_key


def test_the_site_uses_it():
    assert settings.SESSION_ENGINE == "wwmaa.sessions"


def test_a_session_loads_as_django_loads_it(django_assert_num_queries):
    key = stored({"_auth_user_id": "7", "note": "ünïcode", "items": [1, 2]})

    with django_assert_num_queries(1):
        ours = SessionStore(key).load()

    assert (
        ours
        == DjangoStore(key).load()
        == {"_auth_user_id": "7", "note": "ünïcode", "items": [1, 2]}
    )


@pytest.mark.parametrize("when", ["expired", "unknown", "too long"])
def test_no_session_is_an_empty_one_without_a_key(frozen, when):
    key = stored({"a": 1})
    if when == "expired":
        Session.objects.filter(pk=key).update(expire_date=NOW - timedelta(seconds=1))
    elif when == "unknown":
        key = "x" * 32
    else:
        key = "k" * 80

    ours, theirs = SessionStore(key), DjangoStore(key)

    assert ours.load() == theirs.load() == {}
    assert ours.session_key is None and theirs.session_key is None


def test_a_session_expiring_this_instant_is_over(frozen):
    key = stored({"a": 1})
    Session.objects.filter(pk=key).update(expire_date=NOW)

    assert SessionStore(key).load() == DjangoStore(key).load() == {}
    Session.objects.filter(pk=key).update(expire_date=NOW + timedelta(microseconds=1))
    assert SessionStore(key).load() == DjangoStore(key).load() == {"a": 1}
