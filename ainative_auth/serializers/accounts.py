"""Bodies of the account and session endpoints."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ..conf import auth_settings
from .fields import (
    PasswordField,
    RejectUnknownFieldsMixin,
    StrictCharField,
    StrictEmailField,
)


class RegisterSerializer(serializers.Serializer):
    email = StrictEmailField()
    password = PasswordField()
    name = StrictCharField(allow_blank=True, required=False, default="")

    def validate_name(self, value: str) -> str:
        limit = int(auth_settings.NAME_MAX_LENGTH)
        if len(value) > limit:
            raise serializers.ValidationError(
                f"Ensure this field has no more than {limit} characters.", code="max_length"
            )
        return value


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


class RefreshSerializer(serializers.Serializer):
    refresh_token = StrictCharField(max_length=512)


class ProfileUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """PATCH users/me: a partial update, so every field is optional and ``{}`` changes
    nothing; an unknown field is a 400."""

    name = StrictCharField(allow_blank=True, required=False)

    def validate_name(self, value: str) -> str:
        return RegisterSerializer.validate_name(self, value)  # type: ignore[arg-type]


class UserSerializer(serializers.Serializer):
    """The user object (for the schema; ``adapter.serialize_user`` builds it)."""

    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField()
    email_verified = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class TokenResponseSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    token_type = serializers.CharField(default="bearer")
    expires_in = serializers.IntegerField()
    user = UserSerializer()


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class LogoutAllSerializer(DetailSerializer):
    revoked = serializers.IntegerField(help_text="How many sessions were revoked.")


class ErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    """The error body, for the schema. ``errors`` is added in ``get_fields``: a class
    attribute of that name would shadow ``Serializer.errors``."""

    detail = serializers.CharField()
    error_code = serializers.CharField()

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["errors"] = ErrorItemSerializer(many=True, required=False)
        return fields


class SessionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    device = serializers.CharField()
    ip_address = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    current = serializers.SerializerMethodField()

    def get_current(self, session: Any) -> bool:
        return session.id == self.context.get("current_session_id")


class HealthSerializer(serializers.Serializer):
    status = serializers.CharField()
