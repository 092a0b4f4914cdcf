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
