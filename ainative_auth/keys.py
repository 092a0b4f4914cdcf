"""Secrets: the signing key, refresh-token derivation, constant-time checks.

Refresh tokens are never stored. A session row keeps a random per-session salt and a
generation counter; the token for generation ``n`` is ``HMAC(signing key, sid|n|salt)``.
The database alone cannot mint tokens (the key is not in it), rotation is a counter bump
that one conditional UPDATE makes atomic, and the grace window can hand back the same
successor without keeping it anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid

from django.conf import settings

from .conf import auth_settings

_REFRESH_RE = re.compile(r"^([0-9a-f]{32})\.([0-9]{1,9})\.([A-Za-z0-9_-]{43})$")
REFRESH_TOKEN_MAX_LENGTH = 96


def signing_key() -> str:
    """The HMAC key for JWTs and refresh tokens.

    ``SIGNING_KEY`` when set; otherwise a key derived from ``SECRET_KEY`` for this purpose
    only, so a token never doubles as a Django signature (RFC 8725: one key, one use).
    """
    configured = auth_settings.SIGNING_KEY
    if configured:
        return str(configured)
    return hmac.new(
        settings.SECRET_KEY.encode(), b"ainative_auth.signing-key.v1", hashlib.sha256
    ).hexdigest()


def new_salt() -> str:
    return secrets.token_hex(16)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def refresh_token_for(session_id: uuid.UUID, generation: int, salt: str) -> str:
    mac = hmac.new(
        signing_key().encode(),
        f"refresh|{session_id.hex}|{generation}|{salt}".encode(),
        hashlib.sha256,
    ).digest()
    return f"{session_id.hex}.{generation}.{_b64(mac)}"


def parse_refresh_token(token: str) -> tuple[uuid.UUID, int] | None:
    """Split a refresh token into (session id, generation); None if it is not one of ours."""
    if not isinstance(token, str) or len(token) > REFRESH_TOKEN_MAX_LENGTH:
        return None
    match = _REFRESH_RE.match(token)
    if match is None:
        return None
    return uuid.UUID(hex=match.group(1)), int(match.group(2))


def refresh_token_matches(token: str, session_id: uuid.UUID, generation: int, salt: str) -> bool:
    return hmac.compare_digest(
        token.encode(), refresh_token_for(session_id, generation, salt).encode()
    )
