"""Bodies of the password endpoints (reset, change)."""

from __future__ import annotations

from rest_framework import serializers

from .fields import EmailTokenField, PasswordField

__all__ = ["ChangePasswordSerializer", "ResetPasswordSerializer"]


class ResetPasswordSerializer(serializers.Serializer):
    token = EmailTokenField()
    new_password = PasswordField()


class ChangePasswordSerializer(serializers.Serializer):
    current_password = PasswordField()
    new_password = PasswordField()
