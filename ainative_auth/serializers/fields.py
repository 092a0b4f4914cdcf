"""Reusable strict fields: no coercion of numbers into strings, no trimming of secrets."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from ..conf import auth_settings
from ..emails import canonical_email


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers, booleans, lists and objects instead of coercing."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField):
    default_error_messages = {"invalid": "Enter a valid email address."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        # Check the length before the regex-heavy validators run.
        if len(data) > 320:
            self.fail("max_length", max_length=254)
        return canonical_email(super().to_internal_value(data))


class PasswordField(StrictCharField):
    """Verified exactly as typed: no trimming; capped before any hashing."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("write_only", True)
        kwargs.setdefault("style", {"input_type": "password"})
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        limit = int(auth_settings.PASSWORD_MAX_LENGTH)
        if len(value) > limit:
            raise serializers.ValidationError(
                f"Ensure this field has no more than {limit} characters.", code="max_length"
            )
        return value


class RejectUnknownFieldsMixin:
    """Unknown keys in a body are a 400, not silently ignored (no mass assignment)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))  # type: ignore[attr-defined]
            if unknown:
                raise serializers.ValidationError(
                    {name: ["This field is not allowed."] for name in unknown}, code="unknown_field"
                )
        return super().to_internal_value(data)  # type: ignore[misc]


def validate_new_password(password: str, user: Any) -> None:
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        # Keep each validator's reason code (password_too_short, password_too_common, ...):
        # clients need the reason, not only a sentence (NIST 800-63B, ASVS 6.2.4).
        raise serializers.ValidationError(
            [
                serializers.ErrorDetail(" ".join(error.messages),
                                        code=error.code or "password_invalid")
                for error in exc.error_list
            ]
        ) from exc
