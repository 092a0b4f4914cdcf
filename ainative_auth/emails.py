"""Email canonicalisation shared by every flow that takes an address."""

from __future__ import annotations


def canonical_email(email: str) -> str:
    """Trimmed and lower-cased: one spelling per address for lookups, storage and limits.

    Lower-casing the local part is technically lossy (RFC 5321 lets it be case-sensitive),
    but no mainstream mail provider treats it so, and one canonical form is what makes the
    unique index, login and rate-limit keys agree.
    """
    return email.strip().lower()
