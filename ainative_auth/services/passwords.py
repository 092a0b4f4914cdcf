"""Passwords: forgot (mail a reset link), reset with its token, change while logged in."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework import serializers

from ..conf import auth_settings
from ..email_tokens import reset_password_tokens
from ..emails import find_user_by_email, stand_in_user
from ..exceptions import EmailTokenInvalid, InvalidCurrentPassword
from ..serializers.fields import validate_new_password
from ..signals import password_changed
from . import sessions
from .mail import mail_link, mail_user
from .verification import mark_email_verified

logger = logging.getLogger("ainative_auth")

RESET_TEMPLATE = "ainative_auth/email/reset_password"
CHANGED_TEMPLATE = "ainative_auth/email/password_changed"


def _may_reset(user: Any) -> bool:
    # As Django's PasswordResetForm: active users with a usable password. A social-only
    # account (unusable password) signs in with its provider; an inactive one not at all.
    return getattr(user, "is_active", True) is not False and user.has_usable_password()


def request_password_reset(email: str) -> None:
    """Mail a reset link to the stored address of the account ``email`` names, if any.

    Unknown, inactive and social-only addresses get nothing, after the same lookup and
    token work (on an unsaved stand-in user), so neither the answer nor its timing tells
    them apart; the mail itself goes out after commit, in the background by default.
    """
    user = find_user_by_email(email)
    eligible = user is not None and _may_reset(user)
    target = user if eligible else stand_in_user(email)
    token = reset_password_tokens.make_email_token(target)
    if not eligible:
        return
    mail_link(
        user,
        RESET_TEMPLATE,
        path_template=auth_settings.RESET_PASSWORD_PATH,
        token=token,
        lifetime=auth_settings.RESET_PASSWORD_TOKEN_LIFETIME,
    )


def check_new_password(password: str, user: Any | None) -> None:
    """Django's validators, as a 400 naming ``new_password``."""
    try:
        validate_new_password(password, user)
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({"new_password": exc.detail}) from exc


def reset_password(
    token: str, new_password: str, *, request: HttpRequest | None = None,
    ip_address: str | None = None,
) -> Any:
    """Set a new password with a reset token; revoke every session; mail a notice.

    The new password is judged first (with the token's user when the token is good, so
    the similarity check applies), so a weak password is a 400 that leaves the token
    usable. Then the user row is locked and the token checked again inside the
    transaction: of concurrent resets with one token exactly one sees the old password
    hash, the others wait for the lock and find the token spent.
    """
    user = reset_password_tokens.user_for_token(token)
    check_new_password(new_password, user)
    if user is None:
        raise EmailTokenInvalid()
    with transaction.atomic():
        locked = (
            get_user_model()._default_manager.select_for_update().filter(pk=user.pk).first()
        )
        if (
            locked is None
            or not _may_reset(locked)
            or not reset_password_tokens.check_email_token(locked, token)
        ):
            raise EmailTokenInvalid()
        locked.set_password(new_password)
        locked.save(update_fields=["password"])
        # The link reached this address, which proves it as well as a verification link.
        mark_email_verified(locked)
        sessions.revoke_all_sessions(locked, "password_reset")
        _after_password_change(locked, "reset", request, ip_address)
    return locked


def change_password(
    user: Any, *, current_password: str, new_password: str, keep_session: Any = None,
    request: HttpRequest | None = None, ip_address: str | None = None,
) -> None:
    """Change ``user``'s password; revoke every session but ``keep_session``; mail a notice.

    A wrong ``current_password`` is ``InvalidCurrentPassword`` (400). Outstanding reset
    links die with the old password hash.
    """
    if not user.check_password(current_password):
        raise InvalidCurrentPassword()
    check_new_password(new_password, user)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        sessions.revoke_all_sessions(user, "password_changed", keep=keep_session)
        _after_password_change(user, "change", request, ip_address)


def _after_password_change(
    user: Any, reason: str, request: HttpRequest | None, ip_address: str | None
) -> None:
    mail_user(
        user,
        CHANGED_TEMPLATE,
        reason=reason,
        changed_at=timezone.now(),
        ip_address=ip_address,
    )
    transaction.on_commit(
        lambda: password_changed.send(
            sender=user.__class__, user=user, reason=reason, request=request
        ),
        robust=True,
    )
