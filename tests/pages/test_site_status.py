"""``/status/``: which room provider, email backend, broker and ZeroDB mode are on (staff)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    assert client.get("/status/")["Location"] == "/accounts/login/?next=/status/"


@pytest.mark.parametrize("who", ["public_user", "member", "instructor", "board_member"])
def test_it_is_for_staff_only(logged_in, who):
    assert logged_in(who).get("/status/").status_code == 403


def test_staff_see_what_the_site_runs_with(logged_in, settings):
    settings.REDIS_URL = ""  # CI's PostgreSQL run sets it; this test is about the defaults

    response = logged_in("admin_user").get("/status/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Local rooms (pages of this site; recording is simulated)" in page
    assert "django.core.mail.backends.locmem.EmailBackend" in page
    assert "The database (django-q2 ORM broker)" in page
    assert '<th scope="row">ZeroDB mirror</th><td>Off</td>' in page


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://user:s3cret@cache.internal:6379/1", "redis://user:***@cache.internal:6379/1"),
        ("redis://:s3cret@cache.internal:6379/1", "redis://:***@cache.internal:6379/1"),
        ("rediss://s3cret@cache.internal/0", "rediss://:***@cache.internal/0"),
        ("redis://cache.internal:6379/1", "redis://cache.internal:6379/1"),
    ],
)
def test_a_redis_password_is_never_shown(logged_in, settings, url, shown):
    settings.REDIS_URL = url

    page = logged_in("admin_user").get("/status/").content.decode()

    assert f"Redis ({shown})" in page
    assert "s3cret" not in page


def test_the_zerodb_mirror_shows_its_backlog_when_on(logged_in, settings):
    settings.ZERODB_API_KEY = "zk-secret"

    page = logged_in("admin_user").get("/status/").content.decode()

    assert "<td>On (" in page
    assert "Waiting to be sent" in page
    assert "zk-secret" not in page
