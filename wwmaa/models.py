"""The site's user model: a Django user with a role and a time zone."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models


class Role(models.TextChoices):
    """Roles in ascending order of what they may do (see ``wwmaa.roles``)."""

    PUBLIC = "public", "Public"
    MEMBER = "member", "Member"
    INSTRUCTOR = "instructor", "Instructor"
    BOARD_MEMBER = "board_member", "Board member"
    ADMIN = "admin", "Admin"


@lru_cache(maxsize=1)
def _timezone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_timezone_name(value: str) -> None:
    """Refuse anything that is not an IANA time zone name."""
    if value not in _timezone_names():
        raise ValidationError(
            "%(value)s is not a known time zone (use an IANA name such as Europe/Berlin).",
            code="invalid_timezone",
            params={"value": value},
        )


def default_timezone() -> str:
    return settings.TIME_ZONE


def display_name_of(first_name: str, last_name: str, username: str) -> str:
    """How a person is named on the site: the full name, else the username.

    ``User.display_name`` for values read without a model instance (the session lists).
    """
    return f"{first_name} {last_name}".strip() or username


class WWMAAUserManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A person using the site. ``role`` decides what they may do, not ``is_staff``.

    ``is_staff`` is kept in step with the role on save: instructors, board members and
    admins use the Django admin (each seeing what their role allows), others never do.
    """

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.PUBLIC)
    timezone = models.CharField(
        max_length=64,
        default=default_timezone,
        validators=[validate_timezone_name],
        help_text="IANA time zone name; times are shown to this user in it.",
    )

    objects = WWMAAUserManager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="user_role_valid"
            ),
        ]

    def save(self, *args, **kwargs):
        if self.is_superuser:
            self.role = Role.ADMIN
        self.is_staff = self.role in {Role.INSTRUCTOR, Role.BOARD_MEMBER, Role.ADMIN}
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"role", "is_superuser"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "role", "is_staff"}
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        return display_name_of(self.first_name, self.last_name, self.username)

    @property
    def zoneinfo(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (KeyError, ValueError):
            return ZoneInfo(settings.TIME_ZONE)

    def __str__(self) -> str:
        return self.display_name
