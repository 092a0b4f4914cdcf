"""Access tokens: JWTs signed and verified by simplejwt's ``TokenBackend``.

The algorithm is pinned (PyJWT gets ``algorithms=[ALGORITHM]``), `iss` and `aud` are always
written and required, and every claim we rely on is type-checked before use.
"""

from __future__ import annotations

import uuid
from typing import Any

import jwt
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken

from . import clock
from .conf import auth_settings
from .keys import signing_key, verification_keys

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
    return TokenBackend(
        algorithm,
        signing_key=key or signing_key(),
        audience=auth_settings.JWT_AUDIENCE,
        issuer=auth_settings.JWT_ISSUER,
        leeway=auth_settings.JWT_LEEWAY,
    )


def encode_access_token(
    user: Any, session_id: uuid.UUID, extra_claims: dict[str, Any] | None = None
) -> tuple[str, int]:
    """Return (token, lifetime in seconds) for ``user`` in session ``session_id``."""
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
    return _backend().encode(payload), lifetime


def _decode_with_any_key(token: str) -> dict[str, Any]:
    """Verify with the current key, then with each retired one (key rotation without a
    ``kid``: there are at most a few keys, tried in order, current first)."""
    keys = verification_keys()
    for index, key in enumerate(keys):
        try:
            return _backend(key).decode(token)  # type: ignore[arg-type]  # str is accepted
        except TokenBackendExpiredToken:
            raise  # the signature was right: expiry is the real answer
        except TokenBackendError:
            if index == len(keys) - 1:
                raise
    raise InvalidAccessToken("no key")  # pragma: no cover - keys is never empty


def decode_access_token(token: str) -> dict[str, Any]:
    """Verify ``token`` and return its claims, or raise ``InvalidAccessToken``."""
    if not isinstance(token, str) or not token or len(token) > ACCESS_TOKEN_MAX_LENGTH:
        raise InvalidAccessToken("malformed")
    try:
        if not set(jwt.get_unverified_header(token)) <= _HEADER_FIELDS:
            raise InvalidAccessToken("unexpected header field")
        claims = _decode_with_any_key(token)
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
    if claims["iat"] > clock.time() + int(auth_settings.JWT_LEEWAY):
        raise InvalidAccessToken("issued in the future")
    # We never issue a token living longer than ACCESS_TOKEN_LIFETIME: an `exp` of 2**70
    # (or any lifetime past the setting) is not one of ours, whatever its signature says.
    # Lowering the setting therefore also shortens tokens already issued.
    if not 0 < claims["exp"] - claims["iat"] <= int(auth_settings.ACCESS_TOKEN_LIFETIME):
        raise InvalidAccessToken("lifetime out of range")
    # PyJWT accepts an `aud` list that merely contains ours, and compares `iss` only when
    # it is a string; we write both as strings and accept exactly those (RFC 8725 3.9).
    if claims.get("aud") != auth_settings.JWT_AUDIENCE or type(claims.get("aud")) is not str:
        raise InvalidAccessToken("wrong audience")
    if claims.get("iss") != auth_settings.JWT_ISSUER or type(claims.get("iss")) is not str:
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
