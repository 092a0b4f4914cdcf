"""Email verification: mail a link, verify its token, resend without telling who exists.

allauth's ``EmailAddress`` is the record of verified addresses (``verified=True``), so
social login can trust what this flow verified and ``adapter.is_email_verified`` reads it.
"""

from __future__ import annotations

import logging
from typing import Any

from allauth.account.models import EmailAddress
from django.db import IntegrityError, transaction

from ..adapter import get_adapter
from ..client import NO_CLIENT, Client
from ..conf import auth_settings
from ..credentials import throttling
from ..credentials.email_tokens import token_owner_key, verify_email_tokens
from ..exceptions import APIKeyInvalid, EmailNotVerified, EmailTokenInvalid, TokenInvalid
from ..models import APIKey, RefreshSession
from ..outbox import mail_link
from ..signals import email_verified
from ..users import (
    address_verified,
    email_of,
    find_user_by_email,
    lock_user,
    may_authenticate,
    stand_in_user,
)

logger = logging.getLogger("ainative_auth")

TEMPLATE = "ainative_auth/email/verify_email"


def _mail_link(user: Any, token: str) -> None:
    mail_link(
        user,
        TEMPLATE,
        path_template=auth_settings.VERIFY_EMAIL_PATH,
        token=token,
        lifetime=auth_settings.VERIFY_EMAIL_TOKEN_LIFETIME,
    )


def send_verification_email(user: Any) -> bool:
    """Mail ``user`` a link to verify their current address; False if there is none to
    verify (no address, or already verified)."""
    email = email_of(user)
    if not email or address_verified(user.pk, email):
        return False
    _mail_link(user, verify_email_tokens.make_email_token(user))
    return True


def resend_verification(email: str, *, client: Client = NO_CLIENT) -> None:
    """POST auth/resend-verification: mail a new link if ``email`` is an active account's
    unverified address.

    Throttled per IP (429). Per address, past the limit nothing more is sent but the answer
    stays the same, so someone flooding an address cannot make its owner's own request a
    429. Unknown, inactive and already-verified addresses get nothing, after the same
    lookups and token work (on an unsaved stand-in user), so neither the answer nor its
    timing says which case it was. Earlier links stay valid until they expire.
    """
    throttling.hit("resend_verification", "ip", client.ip_address)
    within_limit = throttling.allow("resend_verification", "email", email)
    user = find_user_by_email(email)
    target = user if user is not None else stand_in_user(email)
    verified = address_verified(target.pk, email_of(target))
    token = verify_email_tokens.make_email_token(target)
    if within_limit and may_authenticate(user) and not verified:
        _mail_link(user, token)


def may_add_credentials(user: Any) -> bool:
    """Whether ``user`` may add a way into their account themselves: an API key (REST or
    the dashboard) or a connected identity. Only once their address is verified (the
    adapter's ``is_email_verified``), unless ``UNVERIFIED_MAY_ADD_CREDENTIALS``.

    Whoever registers someone else's address can log in (``ALLOW_UNVERIFIED_LOGIN``); a
    key or an identity left behind would need no password, so it would outlive the
    owner's later proof of the mailbox. The operator's ways (the admin,
    ``mint_api_key``) are not asked: they are the operator's decision.
    """
    return bool(auth_settings.UNVERIFIED_MAY_ADD_CREDENTIALS) or get_adapter().is_email_verified(
        user
    )


def check_may_add_credentials(user: Any) -> None:
    """``may_add_credentials``, or 403 ``email_not_verified``."""
    if not may_add_credentials(user):
        raise EmailNotVerified(
            "Verify your email address before adding an API key or a connected account."
        )


def lock_for_new_credential(user: Any, *, via: RefreshSession | APIKey | None) -> None:
    """In the transaction that adds a credential to ``user`` for a request authenticated
    with ``via`` (its session or API key): lock the user's row, ask
    ``check_may_add_credentials`` again, and refuse ``via`` if it was revoked meanwhile
    (401).

    A password reset holds the same row lock while it ends the sessions and removes what
    an unproven holder left. A request that was authenticated just before such a reset
    and reaches this point after it finds the address verified, so the rule alone would
    let it through; its revoked session (or key) does not. So no credential is ever added
    after the reset that should have removed it.
    """
    lock_user(user)
    check_may_add_credentials(user)
    if isinstance(via, RefreshSession) and not RefreshSession.objects.filter(
        pk=via.pk
    ).live().exists():
        raise TokenInvalid()
    if isinstance(via, APIKey) and not APIKey.objects.filter(pk=via.pk).live().exists():
        raise APIKeyInvalid()


def mark_email_verified(user: Any) -> bool:
    """Record ``user``'s current address as verified; True if this call made it so.

    One conditional UPDATE, so of concurrent verifications exactly one returns True.
    """
    email = email_of(user)
    if not email:
        return False
    try:
        with transaction.atomic():
            if EmailAddress.objects.filter(
                user=user, email__iexact=email, verified=False
            ).update(verified=True):
                return True
            if EmailAddress.objects.filter(user=user, email__iexact=email).exists():
                return False  # already verified
            # A user made without our register flow (createsuperuser, admin) has no row.
            has_primary = EmailAddress.objects.filter(user=user, primary=True).exists()
            EmailAddress.objects.create(
                user=user, email=email, verified=True, primary=not has_primary
            )
            return True
    except IntegrityError:
        # allauth's unique_verified_email: another account already verified this address.
        logger.warning("address of user %s is verified by another account", user.pk)
        return False


def verify_email(token: str, *, client: Client = NO_CLIENT) -> Any:
    """POST auth/verify-email: mark the address ``token`` was made for as verified; return
    the user.

    Garbage, tampered, expired and used tokens, tokens for an address the user no longer
    has, and tokens of inactive users all raise ``EmailTokenInvalid``. A second use of a
    token is such a use: the address is verified already, so nothing changes either way.

    Throttled per IP (every attempt) and per account (failures only, counted after the
    token was checked): the account part of a token is guessable, so counting attempts
    against it would let anyone lock an owner out of their own valid link.
    """
    throttling.hit("verify_email", "ip", client.ip_address)
    user = verify_email_tokens.user_for_token(token)
    if user is None or not mark_email_verified(user):
        throttling.hit("verify_email", "user_failures", token_owner_key(token))
        raise EmailTokenInvalid()
    email = email_of(user)
    transaction.on_commit(
        lambda: email_verified.send(
            sender=user.__class__, user=user, email=email, request=client.request
        ),
        robust=True,
    )
    return user
