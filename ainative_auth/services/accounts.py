"""Accounts: register, log in with a password, change the profile.

Each endpoint calls one function here, which holds the whole use case: its throttles,
the identity rules (``users``), the mail it sends and the session it starts.
"""

from __future__ import annotations

import secrets
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import check_password
from django.core.exceptions import FieldDoesNotExist
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from ..adapter import get_adapter
from ..client import NO_CLIENT, Client
from ..conf import auth_settings
from ..credentials import throttling
from ..exceptions import (
    EmailNotVerified,
    EmailTaken,
    InvalidCredentials,
    MFARequired,
    SignupClosed,
)
from ..models import AccountEmail
from ..outbox import mail_user
from ..signals import user_registered
from ..users import (
    CLAIMS_OWN_EMAIL,
    InvalidEmail,
    canonical_email,
    check_password_policy,
    email_taken,
    find_user_by_email,
    lock_user,
    stand_in_user,
)
from . import sessions
from .sessions import LoginResult
from .verification import send_verification_email

# --- creating an account ----------------------------------------------------------------


def _username_max_length(user_model: Any) -> int:
    try:
        field = user_model._meta.get_field(user_model.USERNAME_FIELD)
    except FieldDoesNotExist:
        return 150
    return getattr(field, "max_length", 0) or 150


def build_user(email: str, name: str) -> Any:
    """An unsaved user for ``email``/``name`` (also what the password validators see)."""
    user = stand_in_user(email)
    user_model = type(user)
    if user_model.USERNAME_FIELD != user_model.get_email_field_name():
        # The email is the login; the username only has to exist and be unique.
        fits = len(email) <= _username_max_length(user_model)
        setattr(user, user_model.USERNAME_FIELD,
                email if fits else f"user_{secrets.token_hex(8)}")
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


def create_account(
    email: str,
    name: str = "",
    *,
    password: str | None = None,
    verified: bool = False,
    request: HttpRequest | None = None,
) -> Any:
    """Create an active user for ``email`` (made canonical here too, for callers that
    skip the serializers; ``InvalidEmail`` if it has no canonical form), with its
    uniqueness record and allauth's ``EmailAddress``, all in one transaction; return the
    user.

    ``password=None`` gives an unusable password (a social-only account). The password is
    hashed before the duplicate check, so the 201 and the 409 of registration cost the
    same. Raises ``SignupClosed`` when the adapter's ``is_signup_allowed``
    says no, and ``EmailTaken`` on a duplicate: the unique index on ``AccountEmail`` is the
    race guard, so of concurrent creations for one address exactly one commits.
    """
    email = canonical_email(email)
    if not get_adapter().is_signup_allowed(request, email):
        raise SignupClosed()
    user = build_user(email, name)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    if email_taken(email):
        raise EmailTaken()
    _free_username(user)
    setattr(user, CLAIMS_OWN_EMAIL, True)
    try:
        with transaction.atomic():
            user.save()
            AccountEmail.objects.create(user=user, email=email)
            EmailAddress.objects.create(user=user, email=email, primary=True, verified=verified)
    except IntegrityError as exc:
        raise EmailTaken() from exc
    return user


def register(*, email: str, password: str, name: str = "", client: Client = NO_CLIENT) -> Any:
    """Create an active user with an unverified ``email`` (canonical) and mail the
    verification link; raise ``EmailTaken`` (after mailing the owner a notice) on a
    duplicate, ``InvalidInput`` for a password the validators refuse.

    The password is judged against the would-be user (the similarity validator needs the
    email and name) before anything is hashed or written.
    """
    check_password_policy(password, build_user(email, name))
    try:
        user = create_account(email, name, password=password, request=client.request)
    except EmailTaken:
        _notify_existing_owner(email)
        raise
    send_verification_email(user)
    transaction.on_commit(
        lambda: user_registered.send(sender=user.__class__, user=user, request=client.request),
        robust=True,
    )
    return user


def register_and_login(
    *, email: str, password: str, name: str = "", client: Client = NO_CLIENT
) -> LoginResult:
    """POST auth/register: throttled per IP, then ``register``, then a first session."""
    throttling.hit("register", "ip", client.ip_address)
    user = register(email=email, password=password, name=name, client=client)
    # A social login may claim the new account before its first session starts: then the
    # registrant gets the 409 a later signup would have got.
    return _sign_in_with_password(user, password, client, refused=EmailTaken)


def _sign_in_with_password(
    user: Any, password: str, client: Client, *, refused: type[Exception],
    browser: HttpRequest | None = None,
) -> LoginResult:
    """``sessions.sign_in`` for a user whose password was just checked, unless it changed
    since.

    Between the check (or the account's creation) and the new session, another request
    may change the password and revoke the user's sessions: a reset, a change, or a social
    login claiming the unverified account (password made unusable). A session started
    after that revocation would survive it, and keep whoever knew the old password in.
    Under the user row's lock (which those writes take too) either the session comes
    first, and their revocation ends it, or they do, and this sign-in is refused. A hash
    rewritten by a parallel login's upgrade is not a change: it still takes this password.
    """
    # No savepoint: inside a caller's transaction this needs none, and the refusals are
    # raised after the block (the sign-in gate's ``MFARequired`` too), so they roll
    # nothing back and leave a caller's transaction usable.
    gate_refusal: MFARequired | None = None
    with transaction.atomic(savepoint=False):
        locked = lock_user(user)
        current = locked.password if locked is not None else None
        if current == user.password or (current and check_password(password, current)):
            try:
                return sessions.sign_in(user, client, method="password", browser=browser)
            except MFARequired as exc:
                gate_refusal = exc
    if gate_refusal is not None:
        raise gate_refusal
    raise refused()


def _lockout_rate() -> throttling.Rate | None:
    text = auth_settings.LOGIN_LOCKOUT_RATE
    return throttling.Rate.parse(text) if text else None


def count_login_attempt(email: str) -> None:
    """Count a login attempt for ``email`` (whether or not it has an account), before any
    password hashing: the ``login`` rate per address, and the consecutive-failure ceiling
    ``LOGIN_LOCKOUT_RATE``. Raises 429 past either."""
    throttling.hit("login", "email", email)
    throttling.hit("login", "lockout", email, _lockout_rate())


def login_key(login: str) -> str:
    """The form of a typed login the throttles count: the canonical address when it is
    one (so the admin's ``username`` and the API's ``email`` share their counters for the
    accounts this app makes, whose username is the email), else trimmed and case-folded."""
    login = str(login or "")[:320]
    try:
        return canonical_email(login)
    except InvalidEmail:
        return login.strip().casefold()


def count_form_login_attempt(login: str, *, client: Client = NO_CLIENT) -> str:
    """Count a password login made outside the API (the admin's login form, or any form
    that calls ``authenticate()`` with a username) against the API's limits: the ``login``
    rate per IP and per address, and ``LOGIN_LOCKOUT_RATE``. Raises 429 past any, before
    the form checks the password; returns the key counted, for ``clear_login_failures``
    after a success ('' for a blank login, counted per IP only)."""
    throttling.hit("login", "ip", client.ip_address)
    key = login_key(login)
    if key:
        count_login_attempt(key)
    return key


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
    At most ``ACCOUNT_EXISTS_NOTICE_RATE`` per address: the per-IP register limit alone
    let anyone with a few IPs mail an owner again and again. Past it the 409 is the same
    and nothing is sent (the owner has been told already).
    """
    text = auth_settings.ACCOUNT_EXISTS_NOTICE_RATE
    rate = throttling.Rate.parse(text) if text else None
    within_limit = rate is None or throttling.allow("register", "notice", email, rate)
    owner = find_user_by_email(email)
    if owner is not None and within_limit:
        mail_user(owner, "ainative_auth/email/account_exists",
                  frontend_url=str(auth_settings.FRONTEND_URL))


def ensure_may_sign_in(user: Any) -> None:
    """The verified-address gate of every sign-in (password or provider): with
    ``ALLOW_UNVERIFIED_LOGIN`` off, 403 ``email_not_verified`` for an unverified address.
    Asked only after the credential was proven, so it tells a prober nothing."""
    if not auth_settings.ALLOW_UNVERIFIED_LOGIN and not get_adapter().is_email_verified(user):
        raise EmailNotVerified("Verify your email address before logging in.")


def login_with_password(
    *, email: str, password: str, client: Client = NO_CLIENT,
    browser: HttpRequest | None = None,
) -> LoginResult:
    """POST auth/login and the login page (``browser``: the request whose browser is
    signed in, instead of tokens): throttles, ``authenticate()``, a new session.

    Counted per IP and per address before any hashing. The credentials go through
    Django's ``authenticate()`` and nothing else, so every backend rule applies. Wrong
    password, unknown email and inactive user all raise the same ``InvalidCredentials``;
    the verified-email gate is only revealed after the password was right. A success
    clears the address's failure counters (never the IP's).
    """
    throttling.hit("login", "ip", client.ip_address)
    count_login_attempt(email)
    user = authenticate(client.request, email=email, password=password)
    if user is None:
        raise InvalidCredentials()
    ensure_may_sign_in(user)
    clear_login_failures(email)
    return _sign_in_with_password(user, password, client, refused=InvalidCredentials,
                                  browser=browser)


def complete_form_login(user: Any, login_key: str, *, client: Client = NO_CLIENT,
                        browser: HttpRequest) -> LoginResult:
    """The admin's login form (or another form that checked the password with
    ``authenticate()`` after ``count_form_login_attempt``): the account's failure counters
    start again and the browser is signed in through the one door, bound to a "password"
    session row like the login page's."""
    if login_key:
        clear_login_failures(login_key)
    return sessions.sign_in(user, client, method="password", browser=browser)


def update_profile(user: Any, *, name: str | None = None) -> Any:
    """Change ``user``'s name (``None``: leave it; PATCH ``{}`` changes nothing). Only the
    name's own columns are written, so a profile update racing a password change or a
    deactivation cannot undo it."""
    if name is None:
        return user
    adapter = get_adapter()
    adapter.set_name(user, name)
    user.save(update_fields=adapter.name_fields())
    return user
