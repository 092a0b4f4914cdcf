"""The pages' form input, validated by the API's own serializers.

A page form is read into the body the matching endpoint takes and judged by that
endpoint's serializer, so the login page and ``auth/login`` (and the create form and
``POST api-keys``) accept exactly the same input. Errors come back per field as one
sentence each, for the templates to show next to their field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.http import QueryDict
from rest_framework import serializers

from .. import clock
from ..api.serializers.accounts import LoginSerializer
from ..api.serializers.api_keys import APIKeyCreateSerializer
from ..api.serializers.common import EmailRequestSerializer
from ..api.serializers.passwords import ResetPasswordSerializer
from ..api.serializers.social import CodeField
from ..api.serializers.verification import VerifyEmailSerializer
from ..credentials.keys import split_scopes_text
from ..exceptions import EmailTokenInvalid

# The create form's expiry choices: (value, label, days).
EXPIRY_CHOICES: list[tuple[str, str, int | None]] = [
    ("", "Never", None),
    ("7", "In 7 days", 7),
    ("30", "In 30 days", 30),
    ("90", "In 90 days", 90),
    ("365", "In 1 year", 365),
]

_MISSING_MESSAGES = {
    "email": "Enter your email address.",
    "password": "Enter your password.",
    "name": "Give the key a name.",
    "new_password": "Enter a new password.",
}


@dataclass
class FormResult:
    """Validated data, or errors by field name (None: about the whole form)."""

    data: dict[str, Any] = field(default_factory=dict)
    errors: dict[str | None, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def _errors(exc: serializers.ValidationError) -> dict[str | None, str]:
    out: dict[str | None, str] = {}
    detail: Any = exc.detail
    items = detail.items() if isinstance(detail, dict) else [(None, detail)]
    for name, messages in items:
        first = messages[0] if isinstance(messages, list) and messages else messages
        key = None if name in (None, "non_field_errors") else str(name)
        code = getattr(first, "code", "")
        if key in _MISSING_MESSAGES and code in ("required", "null", "blank"):
            out[key] = _MISSING_MESSAGES[key]
        else:
            out[key] = str(first)
    return out


def _validate(serializer: serializers.Serializer) -> FormResult:
    try:
        serializer.is_valid(raise_exception=True)
    except serializers.ValidationError as exc:
        return FormResult(errors=_errors(exc))
    return FormResult(data=dict(serializer.validated_data))


def read_login(post: QueryDict) -> FormResult:
    """``email``/``password`` through ``LoginSerializer`` (canonical email, length caps)."""
    return _validate(LoginSerializer(data={
        "email": post.get("email", ""), "password": post.get("password", ""),
    }))


class _CallbackQuery(serializers.Serializer):
    code = CodeField()


def read_callback(query: QueryDict) -> FormResult:
    """The ``code`` a provider sent back, judged like the callback endpoint's body."""
    return _validate(_CallbackQuery(data={"code": query.get("code", "")}))


def read_new_key(post: QueryDict) -> FormResult:
    """``name``, ``scopes`` (text; empty: the default scopes) and ``expires`` (a choice)
    as the ``POST api-keys`` body, through ``APIKeyCreateSerializer``."""
    body: dict[str, Any] = {"name": post.get("name", "").strip()}
    scopes = split_scopes_text(post.get("scopes", ""))
    body["scopes"] = scopes or None
    days = {value: days for value, _, days in EXPIRY_CHOICES}
    choice = post.get("expires", "")
    if choice not in days:
        return FormResult(errors={"expires": "Choose one of the listed expiry options."})
    lifetime = days[choice]
    if lifetime is not None:
        body["expires_at"] = (clock.now() + timedelta(days=lifetime)).isoformat()
    return _validate(APIKeyCreateSerializer(data=body))


def read_email(post: QueryDict) -> FormResult:
    """``email`` through ``EmailRequestSerializer``, as ``auth/forgot-password`` and
    ``auth/resend-verification`` read it."""
    return _validate(EmailRequestSerializer(data={"email": post.get("email", "")}))


def _token_errors_for_the_form(result: FormResult) -> FormResult:
    # The token rides in a hidden field: a malformed one is about the link, not something
    # the user can type, and is told with the one sentence of a bad token, like an expired
    # or used one (EmailTokenInvalid), under "token".
    if "token" in result.errors:
        result.errors["token"] = str(EmailTokenInvalid.default_detail)
    return result


def read_password_reset(post: QueryDict) -> FormResult:
    """``token`` (hidden) and ``new_password`` through ``ResetPasswordSerializer``, the
    body of ``auth/reset-password``."""
    return _token_errors_for_the_form(_validate(ResetPasswordSerializer(data={
        "token": post.get("token", ""), "new_password": post.get("new_password", ""),
    })))


def read_email_token(post: QueryDict) -> FormResult:
    """``token`` (hidden) through ``VerifyEmailSerializer``, the body of
    ``auth/verify-email``."""
    return _token_errors_for_the_form(_validate(VerifyEmailSerializer(data={
        "token": post.get("token", ""),
    })))
