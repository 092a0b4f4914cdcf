"""Accounts: register, login, profile."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import authenticate, get_user_model, user_logged_in
from django.core.exceptions import FieldDoesNotExist
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from .. import throttling
from ..adapter import get_adapter
from ..conf import auth_settings
from ..emails import canonical_email, find_user_by_email, stand_in_user
from ..exceptions import EmailTaken, Forbidden, InvalidCredentials
from ..models import AccountEmail
from ..signals import user_registered
from .mail import mail_user


def email_in_use(email: str) -> bool:
    user_model = get_user_model()
    field = user_model.get_email_field_name()
    return (
        AccountEmail.objects.filter(email__iexact=email).exists()
        or user_model._default_manager.filter(**{f"{field}__iexact": email}).exists()
    )


def build_user(email: str, name: str) -> Any:
    """An unsaved user for ``email``/``name`` (also used to run the password validators)."""
    user = stand_in_user(email)
    user_model = type(user)
    username_field = user_model.USERNAME_FIELD
    if username_field != user_model.get_email_field_name():
        try:
            max_length = getattr(user_model._meta.get_field(username_field), "max_length", 0)
            max_length = max_length or 150
        except FieldDoesNotExist:
            max_length = 150
        # The email is the login; the username only has to exist and be unique.
        username = email if len(email) <= max_length else f"user_{secrets.token_hex(8)}"
        setattr(user, username_field, username)
    get_adapter().set_name(user, name)
    return user


def _free_username(user: Any) -> None:
    """If the username ``build_user`` chose is taken (an account that has since changed its
    email keeps its old username), fall back to a random one: the email is the login."""
    user_model = type(user)
    field = user_model.USERNAME_FIELD
    if field == user_model.get_email_field_name():
        return
    if user_model._default_manager.filter(**{field: getattr(user, field)}).exists():
        setattr(user, field, f"user_{secrets.token_hex(8)}")


def register(
    *, email: str, password: str, name: str, request: HttpRequest | None = None
) -> Any:
    """Create an active user with an unverified email; raise ``EmailTaken`` on a duplicate.

    The password is hashed before the duplicate check so that a 201 and a 409 cost the
    same. The unique index on ``AccountEmail`` is the race guard: of concurrent sign-ups
    for one address exactly one commits, the others get ``IntegrityError`` -> 409.
    """
    from allauth.account.models import EmailAddress

    email = canonical_email(email)
    user = build_user(email, name)
    user.set_password(password)
    if email_in_use(email):
        _notify_existing_owner(email)
        raise EmailTaken()
    _free_username(user)
    try:
        with transaction.atomic():
            user.save()
            AccountEmail.objects.create(user=user, email=email)
            EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
    except IntegrityError as exc:
        _notify_existing_owner(email)
        raise EmailTaken() from exc
    transaction.on_commit(
        lambda: user_registered.send(sender=user.__class__, user=user, request=request)
    )
    return user


def _lockout_rate() -> throttling.Rate | None:
    text = auth_settings.LOGIN_LOCKOUT_RATE
    return throttling.Rate.parse(text) if text else None


def count_login_attempt(email: str) -> None:
    """Count a login attempt for ``email`` (whether or not it has an account), before any
    password hashing: the ``login`` rate per address, and the consecutive-failure ceiling
    ``LOGIN_LOCKOUT_RATE``. Raises 429 past either."""
    throttling.hit("login", "email", email)
    throttling.hit("login", "lockout", email, _lockout_rate())


def clear_login_failures(email: str) -> None:
    """After a successful login or password reset: the account's counters start again.

    The per-IP counter is left alone, so a success cannot wipe out failures an attacker
    spread over many accounts from one address."""
    throttling.reset("login", "email", email)
    throttling.reset("login", "lockout", email, _lockout_rate())


def _notify_existing_owner(email: str) -> None:
    """Tell the owner of ``email`` that someone tried to sign up with it (R23).

    The 409 is the one place the API says an address has an account; mailing the owner
    means probing it does not go unnoticed. Sent after commit (in the background by
    default), to the stored address only, and never for an address shared by two users.
    """
    owner = find_user_by_email(email)
    if owner is not None:
        mail_user(owner, "ainative_auth/email/account_exists",
                  frontend_url=str(auth_settings.FRONTEND_URL))


def login(request: HttpRequest, *, email: str, password: str) -> Any:
    """Check the credentials through Django's ``authenticate()``, and nothing else.

    Wrong password, unknown email and inactive user all raise the same
    ``InvalidCredentials``; the verified-email gate is only revealed after the password
    was right.
    """
    user = authenticate(request, email=canonical_email(email), password=password)
    if user is None:
        raise InvalidCredentials()
    if not auth_settings.ALLOW_UNVERIFIED_LOGIN and not get_adapter().is_email_verified(user):
        raise Forbidden("Verify your email address before logging in.", "email_not_verified")
    user_logged_in.send(sender=user.__class__, request=request, user=user)
    return user


def update_profile(user: Any, *, name: str) -> Any:
    get_adapter().set_name(user, name)
    user.save()
    return user
