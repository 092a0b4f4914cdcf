"""Identity: canonical addresses, finding a user by email, who may authenticate, the
password policy. (Creating an account is a use case:
``services.accounts.create_account``.) Every entry point (register, login, the email
flows, social login, the pages, the management commands) goes through these functions,
so each rule has one definition.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

import idna
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email

from .exceptions import InvalidInput
from .models import AccountEmail

# --- canonical addresses ------------------------------------------------------------------
#
# One spelling per mailbox, and it is exactly the string the mailer sends to:
# - the local part is ASCII only (RFC 5322 dot-atom, written out as explicit classes:
#   ``re.IGNORECASE`` would let ``ſ`` and ``K`` (Kelvin) match ``[a-z]``), lower-cased;
# - the domain is mapped by UTS-46 (IDNA 2008 with the Unicode compatibility mapping) and
#   stored as its ASCII (punycode) form, so ``exämple.com``, ``EXÄMPLE.com``, its NFD
#   spelling and ``xn--exmple-cua.com`` are one domain;
# - invisible characters (controls, format characters such as the soft hyphen, zero-width
#   joiner and bidi overrides, and the other default-ignorable code points) are refused
#   rather than silently dropped: an address that looks like another one is not quietly
#   made into it, and nothing that renders differently from what is stored is accepted.
# Quoted local parts (``"a b"@example.com``) are not accepted.

EMAIL_MAX_LENGTH = 254
_LOCAL_MAX_LENGTH = 64
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_RE = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties) outside category Cf, which
# is refused as a whole below.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F),
    (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xE0000, 0xE0FFF),
)
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"}


class InvalidEmail(ValueError):
    """Not an address we can store and mail to (the message says why)."""


def _invisible(char: str) -> bool:
    if unicodedata.category(char) in _REFUSED_CATEGORIES:
        return True
    point = ord(char)
    return any(low <= point <= high for low, high in _IGNORABLE_RANGES)


def canonical_email(email: str) -> str:
    """The canonical form of ``email``; raise ``InvalidEmail`` if it has none.

    Surrounding ASCII spaces are trimmed; the local part is lower-cased (RFC 5321 lets it
    be case-sensitive, but no mainstream provider treats it so, and one form is what makes
    the unique index, login and rate-limit keys agree).
    """
    if not isinstance(email, str):
        raise InvalidEmail("Enter a valid email address.")
    email = email.strip(" \t")
    if not email or len(email) > 320:
        raise InvalidEmail("Enter a valid email address.")
    if any(_invisible(char) for char in email):
        raise InvalidEmail("The address contains an invisible or control character.")
    local, at, domain = email.rpartition("@")
    if not at or "@" in local:
        raise InvalidEmail("Enter a valid email address.")
    if len(local) > _LOCAL_MAX_LENGTH or _LOCAL_RE.fullmatch(local) is None:
        raise InvalidEmail(
            "The part before @ may only use the letters a-z, digits and . ! # $ % & ' * + "
            "/ = ? ^ _ ` { | } ~ -."
        )
    if not domain or len(domain) > 253 or domain.endswith("."):
        raise InvalidEmail("Enter a valid email address.")
    try:
        ascii_domain = idna.encode(domain, uts46=True, std3_rules=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise InvalidEmail("The domain is not a valid domain name.") from exc
    canonical = f"{local.lower()}@{ascii_domain.lower()}"
    if len(canonical) > EMAIL_MAX_LENGTH:
        raise InvalidEmail(f"An address may have at most {EMAIL_MAX_LENGTH} characters.")
    try:
        validate_email(canonical)
    except DjangoValidationError as exc:
        raise InvalidEmail("Enter a valid email address.") from exc
    return canonical


def same_address(typed: str, stored: str) -> bool:
    """Whether ``stored`` (as a row holds it) is the mailbox ``typed`` canonically names."""
    try:
        return canonical_email(stored) == canonical_email(typed)
    except InvalidEmail:
        return False


# --- users ------------------------------------------------------------------------------


def email_field() -> str:
    return get_user_model().get_email_field_name()


def email_of(user: Any) -> str:
    """``user``'s stored address, whatever the user model calls the field ('' if none)."""
    return getattr(user, user.get_email_field_name(), "") or ""


def stand_in_user(email: str) -> Any:
    """An unsaved user with ``email``: the non-enumerating flows do the same token and
    lookup work on it for an unknown address as for a real account."""
    user_model = get_user_model()
    return user_model(**{user_model.get_email_field_name(): email})


def may_authenticate(user: Any) -> bool:
    """The one rule for "this account may use any credential": it exists and is not
    inactive (Django's ``ModelBackend.user_can_authenticate``; models without
    ``is_active`` count as active). Login, refresh, access tokens, API keys, social login,
    the pages and the email flows all ask this."""
    return user is not None and getattr(user, "is_active", True) is not False


def address_verified(user_pk: Any, email: str) -> bool:
    """Whether allauth's ``EmailAddress`` records ``email`` of user ``user_pk`` as verified.

    By user id, so an unsaved stand-in user (pk None) runs the same query and finds nothing.
    """
    return bool(email) and EmailAddress.objects.filter(
        user_id=user_pk, email__iexact=email, verified=True
    ).exists()


def find_user_by_email(email: str) -> Any | None:
    """The one user whose stored address is ``email``, else None. The only email lookup.

    ``email`` is canonicalised first (an address with no canonical form names nobody). None
    as well when two accounts share the address (possible with ``auth.User``, whose email is
    not unique): mail for one of them must not go to both. The database's
    case-insensitive match is compared again in Python on canonical forms, the way Django's
    reset form re-checks since CVE-2019-19844, so Unicode case mapping in the database
    cannot pair two different addresses.
    """
    try:
        canonical = canonical_email(email)
    except InvalidEmail:
        return None
    field = email_field()
    candidates = list(
        get_user_model()._default_manager.filter(**{f"{field}__iexact": canonical})
        .order_by("pk")[:2]
    )
    user = candidates[0] if len(candidates) == 1 else None
    # The re-check runs (on the address itself) when nothing matched too, so a known
    # address costs no more than an unknown one (R55: forgot-password, resend).
    stored = (getattr(user, field, "") or "") if user is not None else canonical
    matches = same_address(canonical, stored)
    return user if user is not None and matches else None


def lock_user(user: Any) -> Any | None:
    """``user``'s row read again and locked (``SELECT ... FOR UPDATE``) until the current
    transaction ends; None if it was deleted. The one spelling of "queue behind every
    other write to this account": password changes, sign-ins checking the password they
    just verified, key creation against the per-user limit, linking and unlinking
    identities. Call it inside ``transaction.atomic()``."""
    return get_user_model()._default_manager.select_for_update().filter(pk=user.pk).first()


def email_taken(email: str) -> bool:
    """Whether ``email`` (canonical) is claimed by any account: its uniqueness record, or a
    user row that has it (one made before this app was installed, say)."""
    claimed = AccountEmail.objects.filter(email__iexact=email).values("pk")
    holders = get_user_model()._default_manager.filter(**{f"{email_field()}__iexact": email})
    return claimed.union(holders.values("pk")).exists()  # one query


def check_password_policy(password: str, user: Any | None, *, field: str = "password") -> None:
    """Django's ``AUTH_PASSWORD_VALIDATORS``, as ``InvalidInput`` naming ``field``.

    Each validator's reason code is kept (``password_too_short``, ``password_too_common``,
    ...): clients need the reason, not only a sentence (NIST 800-63B, ASVS 6.2.4).
    """
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        raise InvalidInput(
            [
                (field, error.code or "password_invalid", " ".join(error.messages))
                for error in exc.error_list
            ]
        ) from exc


# Set on a user that ``create_account`` is saving: it writes the ``AccountEmail`` itself
# (so the ``sync_account_email`` receiver, which claims addresses of users created
# elsewhere, leaves that one alone).
CLAIMS_OWN_EMAIL = "_ainative_claims_own_email"


# --- password changes -----------------------------------------------------------------------
#
# Every password change ends the user's sessions, wherever it is made (the admin's forms,
# ``changepassword``, ``set_password()`` + ``save()`` in a project's code, our services):
# a ``post_save`` receiver (``services.receivers.revoke_sessions_on_password_change``) is
# the one place that revokes. Our services tell it why, and which session survives, with
# ``save_password``.

# The attribute ``save_password`` sets on a user for the length of its ``save()``.
PASSWORD_CHANGE = "_ainative_password_change"


@dataclass(frozen=True)
class PasswordChange:
    """Why a user's password is being saved (the ``session_revoked`` reason), and the one
    session that survives it (None: none does)."""

    reason: str
    keep_session: uuid.UUID | None = None


def save_password(user: Any, *, reason: str, keep_session: uuid.UUID | None = None) -> None:
    """Save the password just given to ``user`` (``set_password`` or
    ``set_unusable_password``): only that column, and every session but ``keep_session``
    is revoked with ``reason`` by the receiver, in the same transaction."""
    setattr(user, PASSWORD_CHANGE, PasswordChange(reason, keep_session))
    try:
        user.save(update_fields=["password"])
    finally:
        # The note is for this save only, whether the receiver ran or the save failed.
        user.__dict__.pop(PASSWORD_CHANGE, None)
