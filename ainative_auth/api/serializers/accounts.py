"""Bodies of register, login and the profile (``users/me``)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ...conf import auth_settings
from .fields import PasswordField, RejectUnknownFieldsMixin, StrictCharField, StrictEmailField

__all__ = ["LoginFormSerializer", "LoginSerializer", "ProfileUpdateSerializer",
           "RegisterSerializer", "checked_name"]


def checked_name(value: str) -> str:
    """A display name within ``NAME_MAX_LENGTH`` (read at use time, so not a max_length)."""
    limit = int(auth_settings.NAME_MAX_LENGTH)
    if len(value) > limit:
        raise serializers.ValidationError(
            f"Ensure this field has no more than {limit} characters.", code="max_length"
        )
    return value


class RegisterSerializer(serializers.Serializer):
    email = StrictEmailField()
    password = PasswordField()
    name = StrictCharField(allow_blank=True, required=False, default="")

    def validate_name(self, value: str) -> str:
        return checked_name(value)


class LoginSerializer(serializers.Serializer):
    email = StrictEmailField()
    password = PasswordField()


class LoginFormSerializer(serializers.Serializer):
    """The OAuth2 password form of login: the address as ``username`` (RFC 6749 section
    4.3.2; what OAuth2 clients send) or as ``email``, exactly one of them."""

    username = StrictEmailField(required=False, help_text="The account's email address.")
    email = StrictEmailField(required=False, help_text="Or the address under this name.")
    password = PasswordField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [name for name in ("username", "email") if name in attrs]
        if not given:
            raise serializers.ValidationError(
                {"username": ["Send the email address as username (or as email)."]},
                code="required",
            )
        if len(given) > 1:
            raise serializers.ValidationError(
                {"email": ["Send the address once: as username or as email, not both."]},
                code="ambiguous",
            )
        return {"email": attrs[given[0]], "password": attrs["password"]}


class ProfileUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """PATCH users/me: a partial update, so every field is optional and ``{}`` changes
    nothing; an unknown field is a 400."""

    name = StrictCharField(allow_blank=True, required=False)

    def validate_name(self, value: str) -> str:
        return checked_name(value)
