"""Email canonicalisation shared by every flow that takes an address."""

from __future__ import annotations

import unicodedata
from typing import Any


def canonical_email(email: str) -> str:
    """Trimmed and lower-cased: one spelling per address for lookups, storage and limits.

    Lower-casing the local part is technically lossy (RFC 5321 lets it be case-sensitive),
    but no mainstream mail provider treats it so, and one canonical form is what makes the
    unique index, login and rate-limit keys agree.
    """
    return email.strip().lower()


def email_of(user: Any) -> str:
    """``user``'s stored address, whatever the user model calls the field ('' if none)."""
    return getattr(user, user.get_email_field_name(), "") or ""


def stand_in_user(email: str) -> Any:
    """An unsaved user with ``email``: the non-enumerating flows do the same token and
    lookup work on it for an unknown address as for a real account."""
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    return user_model(**{user_model.get_email_field_name(): email})


def address_verified(user_pk: Any, email: str) -> bool:
    """Whether allauth's ``EmailAddress`` records ``email`` of user ``user_pk`` as verified.

    By user id, so an unsaved stand-in user (pk None) runs the same query and finds nothing.
    """
    from allauth.account.models import EmailAddress

    return bool(email) and EmailAddress.objects.filter(
        user_id=user_pk, email__iexact=email, verified=True
    ).exists()


def _same_address(a: str, b: str) -> bool:
    def fold(text: str) -> str:
        return unicodedata.normalize("NFKC", text).casefold()

    return fold(a) == fold(b)


def find_user_by_email(email: str) -> Any | None:
    """The one user whose stored address is ``email`` (any case), else None.

    None as well when two accounts share the address (possible with ``auth.User``, whose
    email is not unique): mail for one of them must not go to both. The database's
    case-insensitive match is compared again in Python the way Django's reset form does
    since CVE-2019-19844, so Unicode case mapping cannot pair two different addresses.
    """
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    field = user_model.get_email_field_name()
    candidates = list(
        user_model._default_manager.filter(**{f"{field}__iexact": email}).order_by("pk")[:2]
    )
    if len(candidates) != 1:
        return None
    user = candidates[0]
    return user if _same_address(email, getattr(user, field, "") or "") else None
