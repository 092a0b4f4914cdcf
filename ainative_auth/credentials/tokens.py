"""Access tokens: JWTs signed and verified by simplejwt's ``TokenBackend``.

The algorithm is pinned (PyJWT gets ``algorithms=[ALGORITHM]``), `iss` and `aud` are always
written and required, and every claim we rely on is type-checked before use.
"""

from __future__ import annotations

import base64
import functools
import json
import uuid
from typing import Any

from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken

from .. import clock
from ..conf import auth_settings
from .keys import signing_key, verification_key_tuple

ACCESS_TOKEN_MAX_LENGTH = 4096
_HMAC_ALGORITHMS = {"HS256", "HS384", "HS512"}
# The only JOSE header fields we write. There is no keyring, so a `kid`, a key URL
# (`jku`, `x5u`), an embedded key (`jwk`, `x5c`) or a `crit` extension is refused outright
# rather than ignored (RFC 8725 section 3.10; R35 "unknown kid -> 401").
_HEADER_FIELDS = {"alg", "typ"}


class InvalidAccessToken(Exception):
    """The token is malformed, forged, expired or not an access token."""


def _backend(key: str | None = None) -> TokenBackend:
    algorithm = auth_settings.JWT_ALGORITHM
    if algorithm not in _HMAC_ALGORITHMS:
        raise ValueError("AINATIVE_AUTH['JWT_ALGORITHM'] must be HS256, HS384 or HS512")
    return _cached_backend(
        algorithm, key or signing_key(), auth_settings.JWT_AUDIENCE, auth_settings.JWT_ISSUER,
        auth_settings.JWT_LEEWAY,
    )


@functools.lru_cache(maxsize=32)
def _cached_backend(
    algorithm: str, key: str, audience: str, issuer: str, leeway: int
) -> TokenBackend:
    """One ``TokenBackend`` per distinct configuration, made once (it is immutable; the
    settings are still read on every call, so a changed setting takes effect at once)."""
    return TokenBackend(algorithm, signing_key=key, audience=audience, issuer=issuer,
                        leeway=leeway)


def _header_fields(token: str) -> set[str]:
    """The names in the token's JOSE header, read without PyJWT's full parse.

    PyJWT parses and strictly validates the header again when it verifies the token, so
    this only adds a refusal (it never lets through what PyJWT would reject); doing it
    with PyJWT's ``get_unverified_header`` cost a second full parse of all three segments
    per request.
    """
    head, dot, _ = token.partition(".")
    if not dot or len(head) > 512:
        raise InvalidAccessToken("malformed")
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, TypeError) as exc:
        raise InvalidAccessToken("malformed") from exc
    if not isinstance(header, dict):
        raise InvalidAccessToken("malformed")
    return set(header)


def encode_access_token(
    user: Any, session_id: uuid.UUID, extra_claims: dict[str, Any] | None = None, *,
    amr: list[str] | None = None, auth_time: int | None = None,
) -> tuple[str, int]:
    """Return (token, lifetime in seconds) for ``user`` in session ``session_id``.

    ``amr`` (RFC 8176 method references) and ``auth_time`` (when the session last proved
    who the user is: its sign-in, or its latest second factor) are informative for
    clients (OIDC's meaning); the server never trusts them, it reads the session row."""
    lifetime = int(auth_settings.ACCESS_TOKEN_LIFETIME)
    now = int(clock.time())
    payload: dict[str, Any] = dict(extra_claims or {})
    payload.update(
        {
            "token_type": "access",
            "sub": str(user.pk),
            "email": user.email or "",
            "sid": session_id.hex,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + lifetime,
        }
    )
    if amr is not None:
        payload["amr"] = list(amr)
    if auth_time is not None:
        payload["auth_time"] = int(auth_time)
    return _backend().encode(payload), lifetime


def decode_access_token(token: str) -> dict[str, Any]:
    """Verify ``token`` and return its claims, or raise ``InvalidAccessToken``.

    What cannot change with time (header, signature, issuer, audience, claim types) is
    judged once per token string and configuration (``_verified_claims``, cached); what
    can (expiry, ``nbf``, ``iat`` in the future) is judged on every call, against the app's
    clock. Revocation is not a property of the token: the caller checks the session row on
    every request.
    """
    if not isinstance(token, str) or not token or len(token) > ACCESS_TOKEN_MAX_LENGTH:
        raise InvalidAccessToken("malformed")
    # Every setting of the check in one read (on every request; still at use time).
    algorithm, leeway, audience, issuer, lifetime, key, fallbacks = auth_settings.values(
        "JWT_ALGORITHM", "JWT_LEEWAY", "JWT_AUDIENCE", "JWT_ISSUER", "ACCESS_TOKEN_LIFETIME",
        "SIGNING_KEY", "SIGNING_KEY_FALLBACKS")
    if algorithm not in _HMAC_ALGORITHMS:
        raise ValueError("AINATIVE_AUTH['JWT_ALGORITHM'] must be HS256, HS384 or HS512")
    leeway = int(leeway)
    claims = _verified_claims(
        token, verification_key_tuple(key, fallbacks), algorithm, audience, issuer, leeway,
    )
    # We never issue a token living longer than ACCESS_TOKEN_LIFETIME: an `exp` of 2**70
    # (or any lifetime past the setting) is not one of ours, whatever its signature says.
    # Judged per call (the setting is read at use time), so lowering it also shortens
    # tokens already issued.
    if not 0 < claims["exp"] - claims["iat"] <= int(lifetime):
        raise InvalidAccessToken("lifetime out of range")
    now = clock.time()
    if claims["exp"] <= now - leeway:
        raise InvalidAccessToken("expired")
    if claims["iat"] > now + leeway:
        raise InvalidAccessToken("issued in the future")
    nbf = claims.get("nbf")
    if nbf is not None and nbf > now + leeway:
        raise InvalidAccessToken("not yet valid")
    return dict(claims)


# Verified tokens, by their exact string and the configuration that verified them: a hit
# skips PyJWT's parse and HMAC (most of a decode's cost) for a token already seen in this
# process. Only tokens that verified are kept (exceptions are not cached), the key set is
# part of the cache key (dropping a key from the fallbacks stops its tokens at once), and
# expiry is still checked on every call. Bounded: at most 2048 entries of ~1 KB each.
@functools.lru_cache(maxsize=2048)
def _verified_claims(
    token: str, keys: tuple[str, ...], algorithm: str, audience: str, issuer: str, leeway: int
) -> dict[str, Any]:
    try:
        if not _header_fields(token) <= _HEADER_FIELDS:
            raise InvalidAccessToken("unexpected header field")
        claims = _decode_with_any_key(token, keys, algorithm, audience, issuer, leeway)
    except InvalidAccessToken:
        raise
    except TokenBackendError as exc:
        raise InvalidAccessToken(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - PyJWT raises a few non-InvalidTokenError types
        raise InvalidAccessToken("malformed") from exc
    if not isinstance(claims, dict) or claims.get("token_type") != "access":
        raise InvalidAccessToken("wrong token type")
    for name in ("exp", "iat"):
        if type(claims.get(name)) is not int:
            raise InvalidAccessToken(f"missing {name}")
    if "nbf" in claims and type(claims["nbf"]) is not int:
        raise InvalidAccessToken("bad nbf")
    # PyJWT accepts an `aud` list that merely contains ours, and compares `iss` only when
    # it is a string; we write both as strings and accept exactly those (RFC 8725 3.9).
    if type(claims.get("aud")) is not str or claims["aud"] != audience:
        raise InvalidAccessToken("wrong audience")
    if type(claims.get("iss")) is not str or claims["iss"] != issuer:
        raise InvalidAccessToken("wrong issuer")
    for name in ("sub", "sid", "jti"):
        value = claims.get(name)
        if not isinstance(value, str) or not value or len(value) > 64:
            raise InvalidAccessToken(f"missing {name}")
    try:
        claims["sid"] = uuid.UUID(hex=claims["sid"])
    except ValueError as exc:
        raise InvalidAccessToken("bad sid") from exc
    return claims


def _decode_with_any_key(
    token: str, keys: tuple[str, ...], algorithm: str, audience: str, issuer: str, leeway: int
) -> dict[str, Any]:
    """Verify with the current key, then with each retired one (key rotation without a
    ``kid``: there are at most a few keys, tried in order, current first)."""
    for index, key in enumerate(keys):
        backend = _cached_backend(algorithm, key, audience, issuer, leeway)
        try:
            return backend.decode(token)  # type: ignore[arg-type]  # str is accepted
        except TokenBackendExpiredToken:
            raise  # the signature was right: expiry is the real answer
        except TokenBackendError:
            if index == len(keys) - 1:
                raise
    raise InvalidAccessToken("no key")  # pragma: no cover - keys is never empty
