"""Bodies of the email-verification and password endpoints."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ..email_tokens import EMAIL_TOKEN_MAX_LENGTH
from .fields import PasswordField, StrictCharField, StrictEmailField

__all__ = [
    "ChangePasswordSerializer",
    "EmailRequestSerializer",
    "ResetPasswordSerializer",
    "VerifyEmailSerializer",
]


class EmailTokenField(StrictCharField):
    """A token from a mail link: a string, used exactly as sent (no trimming)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", EMAIL_TOKEN_MAX_LENGTH)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)


class VerifyEmailSerializer(serializers.Serializer):
    token = EmailTokenField()


class EmailRequestSerializer(serializers.Serializer):
    """``{email}`` of forgot-password and resend-verification."""

    email = StrictEmailField()


class ResetPasswordSerializer(serializers.Serializer):
    token = EmailTokenField()
    new_password = PasswordField()


class ChangePasswordSerializer(serializers.Serializer):
    current_password = PasswordField()
    new_password = PasswordField()
