"""``/accounts/login/`` and ``/accounts/logout/``: Django's views in the site's pages."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

pytestmark = pytest.mark.django_db


def test_the_login_page_labels_its_fields(client):
    page = client.get("/accounts/login/?next=/events/").content.decode()

    assert "<h1>Log in</h1>" in page
    assert '<label for="id_username">Username</label>' in page
    assert '<label for="id_password">Password</label>' in page
    assert 'name="next" value="/events/"' in page
    assert "/static/css/site.css" in page


def test_logging_in_leads_where_the_visitor_was_going(client, member):
    response = client.post(
        "/accounts/login/", {"username": "mia", "password": "pw", "next": "/events/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/events/"


def test_a_wrong_password_is_refused_on_the_page(client, member):
    response = client.post("/accounts/login/", {"username": "mia", "password": "nope"})

    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()


def test_a_logged_in_user_is_not_asked_to_log_in_again(logged_in):
    assert logged_in("member").get("/accounts/login/")["Location"] == "/"


def test_logout_asks_first_and_logs_out_on_the_post(logged_in):
    browser = logged_in("member")

    page = browser.get("/accounts/logout/")
    assert page.status_code == 200
    assert "<h1>Log out</h1>" in page.content.decode()
    assert "_auth_user_id" in browser.session  # a GET logs nobody out

    response = browser.post("/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in browser.session


def test_logout_sends_an_anonymous_visitor_home(client):
    assert client.get("/accounts/logout/")["Location"] == "/"


def test_a_session_s_account_is_read_whole_as_the_orm_reads_it(client, member):
    """``AccountBackend`` gives the pages the very account ``ModelBackend`` would."""
    from django.contrib.auth import get_user
    from django.contrib.auth.backends import ModelBackend

    from wwmaa.authentication import AccountBackend

    client.force_login(member)
    request = RequestFactory().get("/")
    request.session = client.session

    read = get_user(request)
    expected = ModelBackend().get_user(member.pk)

    assert type(read) is type(expected) and read.pk == member.pk
    for field in type(expected)._meta.concrete_fields:
        assert getattr(read, field.attname) == getattr(expected, field.attname), field.name
    assert AccountBackend().get_user(member.pk + 1000) is None


def test_a_session_of_an_account_deactivated_or_deleted_since_is_logged_out(
    client, instructor, other_instructor
):
    page = "/my/sessions/"  # for instructors, behind the login
    client.force_login(instructor)
    assert client.get(page).status_code == 200
    instructor.is_active = False
    instructor.save(update_fields=["is_active"])
    assert client.get(page)["Location"].startswith("/accounts/login/")

    client.force_login(other_instructor)
    assert client.get(page).status_code == 200
    other_instructor.delete()
    assert client.get(page)["Location"].startswith("/accounts/login/")
