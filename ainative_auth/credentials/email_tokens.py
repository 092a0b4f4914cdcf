"""Signed, stateless tokens for the email flows: verify an address, reset a password.

A token is ``<uidb64>.<timestamp>-<hmac>``: the user reference and the HMAC of Django's
``PasswordResetTokenGenerator`` in one URL-safe string (the one ``token`` of the request
bodies). Nothing is stored. A token dies when the state it was made from changes:

- verification: the address and its verified flag, so changing the email kills it and
  using it once kills it (the flag flips);
- reset: the password hash, the last login and the email, so using it once (the password
  hash changes) or changing the password or the email by any means kills it.

Each purpose has its own ``key_salt``, so a token of one kind never passes as the other,
and its own lifetime setting instead of Django's ``PASSWORD_RESET_TIMEOUT`` (3 days).
The HMAC keeps 128 of SHA-256's bits and is keyed with ``SECRET_KEY`` (with
``SECRET_KEY_FALLBACKS``, so rotating the key does not void mail already sent).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes, force_str
from django.utils.http import base36_to_int, urlsafe_base64_decode, urlsafe_base64_encode

from .. import clock
from ..conf import auth_settings
from ..users import address_verified, email_of, may_authenticate

# Longest token accepted for parsing; real ones are ~45 characters plus the user id.
EMAIL_TOKEN_MAX_LENGTH = 256


class BaseEmailTokenGenerator(PasswordResetTokenGenerator):
    """A purpose-bound token generator whose lifetime is an ``AINATIVE_AUTH`` setting."""

    key_salt = "ainative_auth.email_tokens.BaseEmailTokenGenerator"
    # Name of the AINATIVE_AUTH setting holding the lifetime in seconds (read at use time).
    lifetime_setting = ""

    def lifetime(self) -> int:
        return int(getattr(auth_settings, self.lifetime_setting))

    def _now(self) -> datetime:
        # The one clock (``clock.now``), as the naive local time Django's generator counts
        # its timestamps in.
        return timezone.make_naive(clock.now())

    def check_token(self, user: Any, token: Any) -> bool:
        """Django's check, with ``lifetime()`` instead of ``PASSWORD_RESET_TIMEOUT``.

        Django's own ``check_token`` reads the global setting, which would tie both of our
        lifetimes to whatever the project uses for the admin's reset form.
        """
        if not (user and isinstance(token, str) and token):
            return False
        ts_b36, sep, _ = token.partition("-")
        if not sep or not 0 < len(ts_b36) <= 8:
            return False
        try:
            ts = base36_to_int(ts_b36)
        except ValueError:
            return False
        for secret in [self.secret, *self.secret_fallbacks]:
            if constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token):
                break
        else:
            return False
        return (self._num_seconds(self._now()) - ts) <= self.lifetime()

    # --- the one-string form: <uidb64>.<token> -----------------------------------------
    def make_email_token(self, user: Any) -> str:
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        return f"{uid}.{self.make_token(user)}"

    def user_for_token(self, token: Any) -> Any | None:
        """The active user ``token`` was made for, if it is still valid; else None."""
        user = user_from_email_token(token)
        if not may_authenticate(user):
            return None
        return user if self.check_email_token(user, token) else None

    def check_email_token(self, user: Any, token: str) -> bool:
        """Whether ``token`` (the one-string form) is valid for ``user`` right now."""
        uid, _, inner = token.partition(".")
        if uid != urlsafe_base64_encode(force_bytes(user.pk)):
            return False
        return self.check_token(user, inner)


def split_email_token(token: Any) -> tuple[str, str] | None:
    """``(uidb64, token)`` of a well-formed token, else None (nothing looked up)."""
    if not isinstance(token, str) or not token or len(token) > EMAIL_TOKEN_MAX_LENGTH:
        return None
    uid, sep, inner = token.partition(".")
    if not sep or not uid or not inner:
        return None
    return uid, inner


def token_owner_key(token: str) -> str:
    """The user-reference part of a mail token: throttles count attempts per account."""
    return token.partition(".")[0][:64]


def user_from_email_token(token: Any) -> Any | None:
    """The user a token names (active or not), without checking its HMAC."""
    parts = split_email_token(token)
    if parts is None:
        return None
    try:
        pk = force_str(urlsafe_base64_decode(parts[0]))
        return get_user_model()._default_manager.filter(pk=pk).first()
    except (TypeError, ValueError, OverflowError, ValidationError, UnicodeDecodeError):
        return None


class VerifyEmailTokenGenerator(BaseEmailTokenGenerator):
    key_salt = "ainative_auth.email_tokens.VerifyEmailTokenGenerator"
    lifetime_setting = "VERIFY_EMAIL_TOKEN_LIFETIME"

    def _make_hash_value(self, user: Any, timestamp: int) -> str:
        email = email_of(user)
        verified = address_verified(user.pk, email)
        return f"verify|{user.pk}|{email}|{int(verified)}|{timestamp}"


class ResetPasswordTokenGenerator(BaseEmailTokenGenerator):
    # Django's hash value: pk, password hash, last login, timestamp, email.
    key_salt = "ainative_auth.email_tokens.ResetPasswordTokenGenerator"
    lifetime_setting = "RESET_PASSWORD_TOKEN_LIFETIME"


verify_email_tokens = VerifyEmailTokenGenerator()
reset_password_tokens = ResetPasswordTokenGenerator()
