"""Reading the caller's account more cheaply: the API's JWT authentication (simplejwt's)
and the pages' session authentication (Django's ``ModelBackend``).

Every API request with a token and every page of a logged-in user reads the account
behind it. simplejwt and Django read it with ``objects.get``, and building that query cost
twice what the database took to answer (about a third of a refused join);
``account_by_id`` reads the same columns into the same ``User`` with SQL worked out once
(``wwmaa.rows``). The checks after the read are theirs, in their order and with their
messages and codes.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db import router
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import get_md5_hash_password

from wwmaa.rows import model_rows


def account_by_id(value, field: str | None = None):
    """The account whose ``field`` (simplejwt's ``USER_ID_FIELD`` unless given) is
    ``value``, or None (also for a malformed value)."""
    model = get_user_model()
    try:
        return model_rows(model, router.db_for_read(model)).get(
            value, field=field or api_settings.USER_ID_FIELD
        )
    except (ValidationError, TypeError, ValueError):
        return None


class AccountBackend(ModelBackend):
    """Django's ``ModelBackend`` (passwords, permissions), reading a logged-in session's
    account with ``account_by_id``."""

    def get_user(self, user_id):
        user = account_by_id(user_id, field="pk")
        return user if user is not None and self.user_can_authenticate(user) else None


class JWTAuthentication(authentication.JWTAuthentication):
    """``Authorization: Bearer <access token>``, as simplejwt checks it."""

    def get_user(self, validated_token: Token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc

        user = account_by_id(user_id)
        if user is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(
                _("The user's password has been changed."), code="password_changed"
            )
        return user


class JWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of ``JWTAuthentication``: simplejwt's own."""

    target_class = "wwmaa.authentication.JWTAuthentication"
