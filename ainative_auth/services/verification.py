"""Email verification: mail a link, verify its token, resend without telling who exists.

allauth's ``EmailAddress`` is the record of verified addresses (``verified=True``), so
social login can trust what this flow verified and ``adapter.is_email_verified`` reads it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from ..conf import auth_settings
from ..email_tokens import verify_email_tokens
from ..emails import address_verified, email_of, find_user_by_email, stand_in_user
from ..exceptions import EmailTokenInvalid
from ..signals import email_verified
from .mail import mail_link

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


def resend_verification(email: str) -> None:
    """Mail a new link if ``email`` is an active account's unverified address.

    Unknown, inactive and already-verified addresses get nothing, after the same lookups
    and token work (on an unsaved stand-in user), so neither the answer nor its timing
    says which case it was. Earlier links stay valid until they expire.
    """
    user = find_user_by_email(email)
    target = user if user is not None else stand_in_user(email)
    verified = address_verified(target.pk, email_of(target))
    eligible = user is not None and getattr(user, "is_active", True) is not False
    token = verify_email_tokens.make_email_token(target)
    if eligible and not verified:
        _mail_link(user, token)


def mark_email_verified(user: Any) -> bool:
    """Record ``user``'s current address as verified; True if this call made it so.

    One conditional UPDATE, so of concurrent verifications exactly one returns True.
    """
    from allauth.account.models import EmailAddress

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


def verify_email(token: str, *, request: HttpRequest | None = None) -> Any:
    """Mark the address ``token`` was made for as verified; return the user.

    Garbage, tampered, expired and used tokens, tokens for an address the user no longer
    has, and tokens of inactive users all raise ``EmailTokenInvalid``. A second use of a
    token is such a use: the address is verified already, so nothing changes either way.
    """
    user = verify_email_tokens.user_for_token(token)
    if user is None or not mark_email_verified(user):
        raise EmailTokenInvalid()
    email = email_of(user)
    transaction.on_commit(
        lambda: email_verified.send(
            sender=user.__class__, user=user, email=email, request=request
        ),
        robust=True,
    )
    return user
