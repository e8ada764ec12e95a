"""The jobs in the admin: django-q2's pages and the sent emails, for admins only."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse
from django_q.models import Failure, OrmQ, Schedule, Success

from sessions_app.jobs.models import SessionEmail

PAGES = [
    reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    for model in (Schedule, Success, Failure, OrmQ, SessionEmail)
    if admin.site.is_registered(model)
]


def test_django_q2s_pages_are_all_restricted():
    for model in (Schedule, Success, Failure, OrmQ):
        if admin.site.is_registered(model):
            assert type(admin.site._registry[model]).__name__.startswith("AdminsOnly")


@pytest.mark.parametrize("url", PAGES)
def test_an_admin_who_is_not_a_superuser_sees_them(client, admin_user, url):
    client.force_login(admin_user)

    assert client.get(url).status_code == 200


@pytest.mark.parametrize("role", ["instructor", "board_member"])
@pytest.mark.parametrize("url", PAGES)
def test_other_staff_are_refused(request, client, role, url):
    user = request.getfixturevalue(role)
    assert user.is_staff
    client.force_login(user)

    assert client.get(url).status_code == 403


def test_the_admin_index_lists_the_jobs_for_admins_only(client, admin_user, instructor):
    client.force_login(instructor)
    assert "Scheduled task" not in client.get(reverse("admin:index")).content.decode()

    client.force_login(admin_user)
    page = client.get(reverse("admin:index")).content.decode()
    assert "Scheduled task" in page
    assert "Session emails" in page


def test_admins_may_edit_schedules_but_not_add_tasks_by_hand(admin_user, rf):
    request = rf.get("/")
    request.user = admin_user

    assert admin.site._registry[Schedule].has_add_permission(request)
    assert admin.site._registry[Schedule].has_change_permission(request)
    assert not admin.site._registry[Success].has_add_permission(request)
    assert not admin.site._registry[SessionEmail].has_change_permission(request)
