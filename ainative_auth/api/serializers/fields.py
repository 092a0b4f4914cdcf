"""Reusable strict fields: no coercion of numbers into strings, no trimming of secrets."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ...conf import auth_settings
from ...credentials.email_tokens import EMAIL_TOKEN_MAX_LENGTH
from ...users import InvalidEmail, canonical_email

__all__ = ["EmailTokenField", "PasswordField", "RejectUnknownFieldsMixin", "StrictCharField",
           "StrictEmailField"]


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers, booleans, lists and objects instead of coercing."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(StrictCharField):
    """An address, returned in its canonical form (``users.canonical_email``): ASCII local
    part, punycode domain, lower-cased; invisible characters refused."""

    default_error_messages = {"invalid": "Enter a valid email address."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 320)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        # The length is checked first (by CharField), before any IDNA work.
        value = super().to_internal_value(data)
        try:
            return canonical_email(value)
        except InvalidEmail as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from exc


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


class EmailTokenField(StrictCharField):
    """A token from a mail link: a string, used exactly as sent (no trimming)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", EMAIL_TOKEN_MAX_LENGTH)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
