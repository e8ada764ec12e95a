"""The user and event admins: admins manage accounts, board members manage events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from events_app.models import Event
from tests.conftest import NOW, make_user
from wwmaa.models import Role, User

USERS = reverse("admin:wwmaa_user_changelist")
ADD_USER = reverse("admin:wwmaa_user_add")
EVENTS = reverse("admin:events_app_event_changelist")
ADD_EVENT = reverse("admin:events_app_event_add")


def user_change_url(user: User) -> str:
    return reverse("admin:wwmaa_user_change", args=[user.pk])


def event_change_url(event: Event) -> str:
    return reverse("admin:events_app_event_change", args=[event.pk])


def user_form(user: User, **fields) -> dict[str, str]:
    """The user change form as rendered for ``user``, with ``fields`` changed."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "role": user.role,
        "timezone": user.timezone,
        **fields,
    }
    return data


def event_form(viewer: User, *, starts_at=None, ends_at=None, **fields) -> dict[str, str]:
    """The event add/change form; times are entered in the viewer's own zone."""
    starts_at = (starts_at or NOW + timedelta(days=3)).astimezone(viewer.zoneinfo)
    ends_at = (ends_at or NOW + timedelta(days=5)).astimezone(viewer.zoneinfo)
    return {
        "title": "Summer camp",
        "description": "",
        "starts_at_0": starts_at.strftime("%Y-%m-%d"),
        "starts_at_1": starts_at.strftime("%H:%M:%S"),
        "ends_at_0": ends_at.strftime("%Y-%m-%d"),
        "ends_at_1": ends_at.strftime("%H:%M:%S"),
        "timezone": "Europe/Berlin",
        "location": "Online",
        **fields,
    }


# Users: admins only.


def test_an_admin_lists_and_opens_user_accounts(client, admin_user, member):
    client.force_login(admin_user)

    assert client.get(USERS).status_code == 200
    assert client.get(user_change_url(member)).status_code == 200


@pytest.mark.parametrize("role", ["board_member", "instructor"])
def test_only_admins_manage_users(request, client, role, member):
    client.force_login(request.getfixturevalue(role))

    assert client.get(USERS).status_code == 403
    assert client.get(ADD_USER).status_code == 403
    assert client.get(user_change_url(member)).status_code == 403
    response = client.post(user_change_url(member), user_form(member, role=Role.ADMIN))
    assert response.status_code == 403
    member.refresh_from_db()
    assert member.role == Role.MEMBER
    app_labels = {
        app["app_label"] for app in client.get(reverse("admin:index")).context["app_list"]
    }
    assert "wwmaa" not in app_labels


def test_an_admin_creates_an_account_with_a_role(client, admin_user):
    client.force_login(admin_user)

    response = client.post(
        ADD_USER,
        {
            "username": "yuki",
            "usable_password": "true",
            "password1": "a-long-Passphrase-42",
            "password2": "a-long-Passphrase-42",
            "email": "yuki@example.com",
            "role": Role.INSTRUCTOR,
            "timezone": "Asia/Tokyo",
        },
    )

    assert response.status_code == 302
    yuki = User.objects.get(username="yuki")
    assert (yuki.role, yuki.timezone, yuki.is_staff) == (Role.INSTRUCTOR, "Asia/Tokyo", True)
    assert yuki.check_password("a-long-Passphrase-42")


def test_promoting_a_member_to_instructor_in_the_admin_lets_them_in(client, admin_user, member):
    client.force_login(admin_user)

    response = client.post(user_change_url(member), user_form(member, role=Role.INSTRUCTOR))

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.is_staff is True
    client.force_login(member)
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_user_admin_refuses_an_unknown_time_zone(client, admin_user, member):
    client.force_login(admin_user)

    response = client.post(user_change_url(member), user_form(member, timezone="Mars/Olympus"))

    assert response.status_code == 200
    assert "timezone" in response.context["adminform"].form.errors
    member.refresh_from_db()
    assert member.timezone == "Europe/Berlin"


def test_is_staff_cannot_be_set_by_hand_in_the_admin(client, admin_user, member):
    client.force_login(admin_user)

    client.post(user_change_url(member), user_form(member, is_staff="on"))

    member.refresh_from_db()
    assert member.is_staff is False


# is_staff follows the role on every save.


def test_demoting_an_instructor_to_member_takes_is_staff_away(instructor):
    assert instructor.is_staff is True

    instructor.role = Role.MEMBER
    instructor.save()

    instructor.refresh_from_db()
    assert instructor.is_staff is False


def test_promoting_a_member_to_instructor_sets_is_staff(member):
    assert member.is_staff is False

    member.role = Role.INSTRUCTOR
    member.save(update_fields=["role"])

    member.refresh_from_db()
    assert member.is_staff is True


@pytest.mark.parametrize(
    ("role", "is_staff"),
    [
        (Role.PUBLIC, False),
        (Role.MEMBER, False),
        (Role.INSTRUCTOR, True),
        (Role.BOARD_MEMBER, True),
        (Role.ADMIN, True),
    ],
)
def test_is_staff_follows_the_role_even_when_set_otherwise(db, role, is_staff):
    user = make_user("someone", role, is_staff=not is_staff)

    user.refresh_from_db()
    assert user.is_staff is is_staff


def test_create_superuser_makes_an_admin(db):
    root = User.objects.create_superuser("root", "root@example.com", "pw")

    root.refresh_from_db()
    assert root.role == Role.ADMIN
    assert root.is_staff is True


# Events: board members and admins manage them; instructors only look.


@pytest.mark.parametrize("role", ["board_member", "admin_user"])
def test_board_members_and_admins_create_events(request, client, role):
    viewer = request.getfixturevalue(role)
    client.force_login(viewer)

    response = client.post(ADD_EVENT, event_form(viewer))

    assert response.status_code == 302
    event = Event.objects.get()
    assert event.title == "Summer camp"
    assert event.starts_at == NOW + timedelta(days=3)
    assert event.timezone == "Europe/Berlin"


def test_a_board_member_changes_an_event(client, board_member, event):
    client.force_login(board_member)

    response = client.post(
        event_change_url(event),
        event_form(
            board_member,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            title="Winter camp (moved online)",
        ),
    )

    assert response.status_code == 302
    event.refresh_from_db()
    assert event.title == "Winter camp (moved online)"


def test_the_event_admin_refuses_an_event_that_ends_before_it_starts(client, board_member):
    client.force_login(board_member)

    response = client.post(
        ADD_EVENT,
        event_form(
            board_member, starts_at=NOW + timedelta(days=3), ends_at=NOW + timedelta(days=2)
        ),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["ends_at"] == [
        "The event cannot end before it starts."
    ]
    assert not Event.objects.exists()


def test_instructors_view_events_but_cannot_change_them(client, instructor, event):
    client.force_login(instructor)

    listing = client.get(EVENTS)
    page = client.get(event_change_url(event))
    response = client.post(
        event_change_url(event),
        event_form(instructor, starts_at=event.starts_at, ends_at=event.ends_at, title="Mine"),
    )

    assert listing.status_code == 200
    assert [e.pk for e in listing.context["cl"].result_list] == [event.pk]
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.title == "Winter camp"


def test_instructors_cannot_add_or_delete_events(client, instructor, event):
    client.force_login(instructor)
    delete_url = reverse("admin:events_app_event_delete", args=[event.pk])

    assert client.get(ADD_EVENT).status_code == 403
    assert client.post(ADD_EVENT, event_form(instructor)).status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert list(Event.objects.all()) == [event]


@pytest.mark.parametrize("role", ["member", "public_user"])
def test_members_and_public_users_cannot_open_the_event_admin(request, client, role, event):
    client.force_login(request.getfixturevalue(role))

    response = client.get(EVENTS)

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
