"""Secrets: the signing key, refresh-token derivation, constant-time checks.

Refresh tokens are never stored. A session row keeps a random per-session salt and a
generation counter; the token for generation ``n`` is ``HMAC(signing key, sid|n|salt)``.
The database alone cannot mint tokens (the key is not in it), rotation is a counter bump
that one conditional UPDATE makes atomic, and the grace window can hand back the same
successor without keeping it anywhere.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
import uuid
import zlib
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)
from django.conf import settings

from ..conf import auth_settings

_REFRESH_RE = re.compile(r"^([0-9a-f]{32})\.([0-9]{1,9})\.([A-Za-z0-9_-]{43})$")
REFRESH_TOKEN_MAX_LENGTH = 96


@functools.lru_cache(maxsize=8)
def _derived_key(secret_key: str) -> str:
    # Cached: a pure function of the key, computed on every token issued or verified.
    return hmac.new(
        secret_key.encode(), b"ainative_auth.signing-key.v1", hashlib.sha256
    ).hexdigest()


def signing_key() -> str:
    """The HMAC key that signs new JWTs and refresh tokens.

    ``SIGNING_KEY`` when set; otherwise a key derived from ``SECRET_KEY`` for this purpose
    only, so a token never doubles as a Django signature (RFC 8725: one key, one use).
    """
    configured = auth_settings.SIGNING_KEY
    if configured:
        return str(configured)
    return _derived_key(settings.SECRET_KEY)


def verification_keys() -> list[str]:
    """Every key a token may have been signed with: the current one first, then the
    retired ones still accepted (``SIGNING_KEY_FALLBACKS``, or the keys derived from
    Django's ``SECRET_KEY_FALLBACKS`` when ``SIGNING_KEY`` is not set).

    Rotating the key the Django way (new key, old one moved to the fallbacks) keeps
    sessions alive: tokens signed with the old key verify, and each refresh re-issues them
    under the new one. Drop the old key once the longest session lifetime has passed.
    """
    return list(verification_key_tuple(*auth_settings.values(
        "SIGNING_KEY", "SIGNING_KEY_FALLBACKS")))


def verification_key_tuple(signing_key_setting: Any, fallbacks_setting: Any) -> tuple[str, ...]:
    """``verification_keys()`` for settings the caller has just read (the access-token
    check reads its settings in one go); Django's secret keys are read here."""
    if signing_key_setting:
        return (str(signing_key_setting), *(str(key) for key in fallbacks_setting or []))
    return _derived_keys(settings.SECRET_KEY,
                         tuple(getattr(settings, "SECRET_KEY_FALLBACKS", ())))


@functools.lru_cache(maxsize=8)
def _derived_keys(secret_key: str, fallbacks: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_derived_key(key) for key in (secret_key, *fallbacks))


def new_salt() -> str:
    return secrets.token_hex(16)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def refresh_token_for(
    session_id: uuid.UUID, generation: int, salt: str, key: str | None = None
) -> str:
    mac = hmac.new(
        (key or signing_key()).encode(),
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
    """Whether ``token`` is this session's token for ``generation`` under any accepted key."""
    return any(
        hmac.compare_digest(
            token.encode(), refresh_token_for(session_id, generation, salt, key).encode()
        )
        for key in verification_keys()
    )


# --- API keys ---------------------------------------------------------------------------
#
# ``ak_<public id>_<secret><checksum>``: a 12-character public id (the database lookup key,
# safe to show and log), a 32-character secret (base62, ~190 bits from ``secrets``) and a
# 6-character CRC32 checksum of everything before it. The checksum is not a security
# control: it lets the server (and secret scanners, offline) reject typos, truncations and
# random probes without a database query, the way GitHub's token format does.
#
# Only ``HMAC-SHA256(pepper, "<public id>:<secret>")`` is stored. A 190-bit random secret
# cannot be brute-forced from a fast hash, so a password hasher would only add latency to
# every request (djangorestframework-api-key#173); the pepper (derived from SECRET_KEY)
# means a stolen database alone cannot even test candidate keys.

API_KEY_PREFIX = "ak_"
API_KEY_ID_LENGTH = 12
API_KEY_SECRET_LENGTH = 32
API_KEY_CHECKSUM_LENGTH = 6
API_KEY_LENGTH = (
    len(API_KEY_PREFIX) + API_KEY_ID_LENGTH + 1 + API_KEY_SECRET_LENGTH + API_KEY_CHECKSUM_LENGTH
)
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Explicit ASCII classes: ``\w``/``\d`` would accept non-ASCII letters and digits.
_API_KEY_RE = re.compile(
    rf"ak_([0-9A-Za-z]{{{API_KEY_ID_LENGTH}}})_([0-9A-Za-z]{{{API_KEY_SECRET_LENGTH}}})"
    rf"([0-9A-Za-z]{{{API_KEY_CHECKSUM_LENGTH}}})"
)
_PUBLIC_ID_RE = re.compile(rf"[0-9A-Za-z]{{{API_KEY_ID_LENGTH}}}")


def _random_base62(length: int) -> str:
    return "".join(secrets.choice(_BASE62) for _ in range(length))


def _api_key_checksum(body: str) -> str:
    value = zlib.crc32(body.encode("ascii"))
    digits = []
    for _ in range(API_KEY_CHECKSUM_LENGTH):  # 62**6 > 2**32: always fits
        value, digit = divmod(value, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits))


def new_api_key() -> tuple[str, str, str]:
    """A fresh key: (public id, secret, plaintext). Show the plaintext once; store neither."""
    public_id = _random_base62(API_KEY_ID_LENGTH)
    secret = _random_base62(API_KEY_SECRET_LENGTH)
    return public_id, secret, api_key_plaintext(public_id, secret)


def new_api_key_secret(public_id: str) -> tuple[str, str]:
    """A new secret for an existing public id (rotation): (secret, plaintext)."""
    secret = _random_base62(API_KEY_SECRET_LENGTH)
    return secret, api_key_plaintext(public_id, secret)


def api_key_plaintext(public_id: str, secret: str) -> str:
    body = f"{API_KEY_PREFIX}{public_id}_{secret}"
    return body + _api_key_checksum(body)


def api_key_display_prefix(public_id: str) -> str:
    """What lists and the admin show to identify a key: ``ak_<public id>``."""
    return f"{API_KEY_PREFIX}{public_id}"


def is_api_key_public_id(value: object) -> bool:
    return isinstance(value, str) and _PUBLIC_ID_RE.fullmatch(value) is not None


def parse_api_key(value: object) -> tuple[str, str] | None:
    """(public id, secret) of a well-formed key with a valid checksum, else None.

    The length is checked first, so a 64 KB header costs one ``len()``; whitespace, control
    characters, a wrong prefix or case, extra ``_`` segments and typos all fail here,
    before any database query.
    """
    if not isinstance(value, str) or len(value) != API_KEY_LENGTH:
        return None
    match = _API_KEY_RE.fullmatch(value)
    if match is None:
        return None
    public_id, secret, checksum = match.groups()
    expected = _api_key_checksum(value[: -API_KEY_CHECKSUM_LENGTH])
    if not hmac.compare_digest(checksum, expected):
        return None
    return public_id, secret


@functools.lru_cache(maxsize=8)
def _api_key_pepper(secret_key: str) -> bytes:
    # A key of its own, so an API-key hash is never also a valid Django or JWT signature.
    label = b"ainative_auth.api-key-pepper.v1"
    return hmac.new(secret_key.encode(), label, hashlib.sha256).digest()


def _secret_keys() -> list[str]:
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def hash_api_key_secret(public_id: str, secret: str, secret_key: str | None = None) -> str:
    """HMAC-SHA256 hex (64 characters) of the key's secret, bound to its public id.

    Derived from SECRET_KEY rather than the JWT signing key: rotating the signing key logs
    every user out, but should not break every server's API key.
    """
    pepper = _api_key_pepper(secret_key or settings.SECRET_KEY)
    # hmac.digest: the one-shot C implementation (the same MAC as hmac.new(...)), on
    # every API-key request.
    return hmac.digest(pepper, f"{public_id}:{secret}".encode(), "sha256").hex()


def matching_api_key_hash(public_id: str, secret: str, stored_hashes: list[str]) -> str | None:
    """The stored hash (current or previous) that ``secret`` matches, in constant time per
    comparison; None when it matches none.

    Hashes made under a key in ``SECRET_KEY_FALLBACKS`` still match, so SECRET_KEY can be
    rotated the Django way without revoking every API key at once (the fallbacks are only
    tried when the current key matches nothing). Which hash matched tells the signature
    check which signing secret goes with the key presented.
    """
    found = _matching(hash_api_key_secret(public_id, secret, settings.SECRET_KEY), stored_hashes)
    if found is not None:
        return found
    for secret_key in getattr(settings, "SECRET_KEY_FALLBACKS", []):
        found = _matching(hash_api_key_secret(public_id, secret, secret_key), stored_hashes)
        if found is not None:
            return found
    return None


def _matching(candidate: str, stored_hashes: list[str]) -> str | None:
    for stored in stored_hashes:
        if stored and hmac.compare_digest(candidate, stored):
            return stored
    return None


def api_key_secret_matches(public_id: str, secret: str, stored_hashes: list[str]) -> bool:
    """Whether ``secret`` matches one of the stored hashes (``matching_api_key_hash``)."""
    return matching_api_key_hash(public_id, secret, stored_hashes) is not None


# --- signing secrets ---------------------------------------------------------------------
#
# Every key has a signing secret for signed requests (``signatures.py``): the HMAC key of
# the SDK's v1 scheme and of RFC 9421 ``hmac-sha256``. The server must be able to
# recompute it, so it cannot be a hash like the key's own secret; it is derived instead,
# never stored:
#
#     signing secret = "aks_" + base64url(HMAC-SHA256(K, "<public id>:<secret hash>"))
#     K              = HMAC-SHA256(SECRET_KEY, "ainative_auth.signing-secret.v1")
#
# * The database alone cannot produce it (K is not in it), and the key alone cannot either
#   (the secret hash is peppered with SECRET_KEY): a key leaked from a log is useless on a
#   key that requires signatures.
# * The secret hash changes when the key rotates, so the signing secret does too; during
#   ``API_KEY_ROTATION_OVERLAP`` the previous hash is kept, and with it the previous
#   signing secret, so the old (key, signing secret) pair keeps working as a pair.
# * K is derived from SECRET_KEY, not from the JWT signing key: rotating SIGNING_KEY logs
#   users out but leaves servers' keys and signing secrets alone. Secrets derived under a
#   key in SECRET_KEY_FALLBACKS still verify; once that key is dropped they stop, exactly
#   like the API keys hashed under it.

SIGNING_SECRET_PREFIX = "aks_"


@functools.lru_cache(maxsize=8)
def _signing_secret_key(secret_key: str) -> bytes:
    label = b"ainative_auth.signing-secret.v1"
    return hmac.new(secret_key.encode(), label, hashlib.sha256).digest()


def signing_secret_for(public_id: str, secret_hash: str, secret_key: str | None = None) -> str:
    """The signing secret of the key whose stored secret hash is ``secret_hash``."""
    mac = hmac.new(
        _signing_secret_key(secret_key or settings.SECRET_KEY),
        f"{public_id}:{secret_hash}".encode(),
        hashlib.sha256,
    ).digest()
    return SIGNING_SECRET_PREFIX + _b64(mac)


def signing_secret_candidates(public_id: str, secret_hashes: list[str]) -> list[str]:
    """Every signing secret that may sign for these hashes: one per accepted SECRET_KEY
    (current first, then the fallbacks) and per live hash (current, then previous)."""
    return [
        signing_secret_for(public_id, stored, secret_key)
        for stored in secret_hashes if stored
        for secret_key in _secret_keys()
    ]


# --- API-key scopes ----------------------------------------------------------------------

# "*" alone, or lowercase words with ":" "." "_" "-" separators, e.g. "credits:read".
SCOPE_RE = re.compile(r"\*|[a-z0-9][a-z0-9_:.\-]{0,63}")
MAX_SCOPES = 32
# Longest key name.
API_KEY_NAME_MAX_LENGTH = 100


class InvalidScopes(ValueError):
    """A scope list that is not a list of at most ``MAX_SCOPES`` well-formed strings."""


def clean_scopes(values: Any) -> list[str]:
    """Validated scopes, duplicates dropped, order kept; raise ``InvalidScopes``."""
    if not isinstance(values, (list, tuple)):
        raise InvalidScopes("Scopes must be a list of strings.")
    if len(values) > MAX_SCOPES:
        raise InvalidScopes(f"At most {MAX_SCOPES} scopes are allowed.")
    cleaned: list[str] = []
    for value in values:
        if not isinstance(value, str) or SCOPE_RE.fullmatch(value) is None:
            raise InvalidScopes(
                f"{str(value)[:70]!r} is not a valid scope: use lowercase letters, digits and "
                "_ : . - (at most 64 characters), or \"*\"."
            )
        if value not in cleaned:
            cleaned.append(value)
    return cleaned


def split_scopes_text(text: str) -> list[str]:
    """Scopes typed as text (the dashboard's field, the admin's, ``--scopes``), separated
    by commas and/or whitespace: ``"credits:read, keys:write"`` and ``"credits:read
    keys:write"`` are the same two scopes everywhere. Not validated: ``clean_scopes``
    judges the list. The one rule for scopes typed as text."""
    return [item for item in re.split(r"[\s,]+", str(text or "")) if item]


# --- Ed25519 public keys (RFC 9421 ``ed25519`` signatures) ---------------------------------

# A PEM Ed25519 SubjectPublicKeyInfo is 113 characters; room for CRLFs and whitespace.
PUBLIC_KEY_MAX_LENGTH = 1024
_PEM_PUBLIC_HEADER = "-----BEGIN PUBLIC KEY-----"


class InvalidPublicKey(ValueError):
    """Not a PEM SubjectPublicKeyInfo holding an Ed25519 public key."""


def clean_public_key(value: Any) -> str:
    """The canonical PEM (SubjectPublicKeyInfo, LF line ends) of an Ed25519 public key;
    raise ``InvalidPublicKey`` for anything else (other key types, private keys,
    certificates, garbage)."""
    if not isinstance(value, str):
        raise InvalidPublicKey("The public key must be a PEM string.")
    if len(value) > PUBLIC_KEY_MAX_LENGTH:
        raise InvalidPublicKey(
            f"The public key must be at most {PUBLIC_KEY_MAX_LENGTH} characters."
        )
    text = value.strip()
    if "PRIVATE KEY" in text:
        # Refused loudly: the point of a public key is that the server never holds this.
        raise InvalidPublicKey("This is a private key: send only the public key.")
    if not text.startswith(_PEM_PUBLIC_HEADER):
        raise InvalidPublicKey(
            f"The public key must be PEM SubjectPublicKeyInfo ({_PEM_PUBLIC_HEADER} ...)."
        )
    try:
        key = load_pem_public_key(text.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError, UnsupportedAlgorithm) as exc:
        raise InvalidPublicKey("The public key is not valid PEM.") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidPublicKey("Only Ed25519 public keys are supported.")
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")
