"""Bodies several flows answer with: the user, the token response, a detail, an error,
and the ``{email}`` request of forgot-password and resend-verification."""

from __future__ import annotations

from rest_framework import serializers

from .fields import StrictEmailField

__all__ = ["DetailSerializer", "EmailRequestSerializer", "ErrorItemSerializer", "ErrorSerializer",
           "TokenResponseSerializer", "UserSerializer"]


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


class EmailRequestSerializer(serializers.Serializer):
    """``{email}`` of forgot-password and resend-verification."""

    email = StrictEmailField()
