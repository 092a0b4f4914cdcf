"""Passwords: forgot (mail a reset link), reset with its token, change while logged in."""

from __future__ import annotations

import logging
from typing import Any, NoReturn

from django.db import transaction

from .. import clock
from ..client import NO_CLIENT, Client
from ..conf import auth_settings
from ..credentials import throttling
from ..credentials.email_tokens import reset_password_tokens, token_owner_key
from ..exceptions import EmailTokenInvalid, InvalidCurrentPassword
from ..outbox import mail_link, mail_user
from ..signals import password_changed
from ..users import (
    address_verified,
    check_password_policy,
    email_of,
    find_user_by_email,
    lock_user,
    may_authenticate,
    save_password,
    stand_in_user,
)
from .accounts import clear_login_failures
from .sessions import require_recent_factor
from .social import forget_unproven_credentials
from .verification import mark_email_verified

logger = logging.getLogger("ainative_auth")

RESET_TEMPLATE = "ainative_auth/email/reset_password"
CHANGED_TEMPLATE = "ainative_auth/email/password_changed"


def _may_reset(user: Any) -> bool:
    # As Django's PasswordResetForm: active users with a usable password. A social-only
    # account (unusable password) signs in with its provider; an inactive one not at all.
    return may_authenticate(user) and user.has_usable_password()


def request_password_reset(email: str, *, client: Client = NO_CLIENT) -> None:
    """POST auth/forgot-password: mail a reset link to the stored address of the account
    ``email`` names, if any.

    Throttled per IP (429). Per address, past the limit nothing more is sent but the answer
    stays the same 200: a flood of requests for someone's address neither tells the
    flooder anything nor answers the owner's own request with a 429, and the links already
    mailed keep working (reset counts only failed tokens). Unknown, inactive and
    social-only addresses get nothing, after the same lookup and token work (on an unsaved
    stand-in user), so neither the answer nor its timing tells them apart; the mail itself
    goes out after commit, in the background by default.
    """
    throttling.hit("forgot_password", "ip", client.ip_address)
    within_limit = throttling.allow("forgot_password", "email", email)
    user = find_user_by_email(email)
    eligible = user is not None and _may_reset(user)
    target = user if eligible else stand_in_user(email)
    token = reset_password_tokens.make_email_token(target)
    if not (eligible and within_limit):
        return
    mail_link(
        user,
        RESET_TEMPLATE,
        path_template=auth_settings.RESET_PASSWORD_PATH,
        token=token,
        lifetime=auth_settings.RESET_PASSWORD_TOKEN_LIFETIME,
    )


def reset_password(token: str, new_password: str, *, client: Client = NO_CLIENT) -> Any:
    """POST auth/reset-password: set a new password with a reset token; revoke every
    session; lift the login lockout; mail a notice.

    The link proves the mailbox. If nobody had proved it before (the address was not
    verified), whoever held the account until now may have registered someone else's
    address: their API keys are revoked and the identities connected to the account
    removed too (``social.forget_unproven_credentials``, what a social claim does), so
    the owner ends with an account that holds nothing they did not set up themselves.

    Throttled per IP (every attempt) and per account (failed tokens only, counted after
    the check, so a flood of garbage naming an account never blocks its owner's valid
    link). The new password is judged first (with the token's user when the token is
    good, so the similarity check applies), so a weak password is a 400 that leaves the
    token usable. Then the user row is locked and the token checked again inside the
    transaction: of concurrent resets with one token exactly one sees the old password
    hash, the others wait for the lock and find the token spent.
    """
    throttling.hit("reset_password", "ip", client.ip_address)
    user = reset_password_tokens.user_for_token(token)
    check_password_policy(new_password, user, field="new_password")
    if user is None:
        _token_failed(token)
    with transaction.atomic():
        locked = lock_user(user)
        if (
            locked is None
            or not _may_reset(locked)
            or not reset_password_tokens.check_email_token(locked, token)
        ):
            _token_failed(token)
        proved_before = address_verified(locked.pk, email_of(locked))
        locked.set_password(new_password)
        save_password(locked, reason="password_reset")  # ends every session
        if not proved_before:
            forget_unproven_credentials(locked)
        # The link reached this address, which proves it as well as a verification link.
        mark_email_verified(locked)
        _after_password_change(locked, "reset", client)
    # The owner proved control of the address: lift the per-account login lockout, so an
    # attacker's failures cannot keep them out past the reset (R27). Per-IP stays.
    clear_login_failures(email_of(locked))
    return locked


def _token_failed(token: str) -> NoReturn:
    throttling.hit("reset_password", "user_failures", token_owner_key(token))
    raise EmailTokenInvalid()


def change_password(
    user: Any, *, current_password: str, new_password: str, keep_session: Any = None,
    client: Client = NO_CLIENT,
) -> None:
    """POST auth/change-password: change ``user``'s password; revoke every session but
    ``keep_session``; mail a notice.

    Throttled per IP and per user. For a user with MFA on, the session ``keep_session``
    (the one acting) must have proven a second factor within ``STEP_UP_MAX_AGE`` (403
    ``step_up_required``), checked before the password, so it is no oracle for it. A
    wrong ``current_password`` is ``InvalidCurrentPassword`` (400). Outstanding reset
    links die with the old password hash.
    """
    throttling.hit("change_password", "ip", client.ip_address)
    throttling.hit("change_password", "user", str(user.pk))
    require_recent_factor(user, keep_session)
    if not user.check_password(current_password):
        raise InvalidCurrentPassword()
    check_password_policy(new_password, user, field="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        save_password(user, reason="password_changed", keep_session=keep_session)
        _after_password_change(user, "change", client)


def _after_password_change(user: Any, reason: str, client: Client) -> None:
    mail_user(
        user,
        CHANGED_TEMPLATE,
        reason=reason,
        changed_at=clock.now(),
        ip_address=client.ip_address,
    )
    transaction.on_commit(
        lambda: password_changed.send(
            sender=user.__class__, user=user, reason=reason, request=client.request
        ),
        robust=True,
    )
