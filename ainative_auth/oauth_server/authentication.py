"""The resource-server side: OAuth access tokens at our own resources.

``authenticate_oauth_token(token, resource)`` is the one check (the DRF class below, the
middleware and the MCP server call it): the JWT's signature (RS256 only, a key of ours by
its ``kid``), ``iss`` = the issuer, ``aud`` = this resource, ``exp``, then the token's row
in the library's table (one indexed query with its user and client), so a revoked grant,
a revoked token or a reused refresh token ends the token on the very next request in any
process. Read-only, like the rest of the hot path: no signals, no writes.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from allauth.idp.oidc.models import Token
from django.conf import settings
from django.db import connections, router
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from .. import clock
from ..authentication import bearer_token
from ..conf import auth_settings
from ..credentials.lookups import CompiledLookup
from ..exceptions import InsufficientScope, TokenInvalid, api_resource_path
from ..users import may_authenticate
from . import resources

ALGORITHM = "RS256"
TOKEN_MAX_LENGTH = 8192
# What the check needs of a token row (its hash and creation time are not read).
TOKEN_FIELDS = ("id", "type", "client", "user", "data", "expires_at", "scopes")


@dataclass(frozen=True)
class OAuthAccessToken:
    """``request.auth`` for an OAuth access token: its claims, client and scopes."""

    claims: dict[str, Any]
    client_id: str
    scopes: frozenset[str]
    resource: str
    grant_id: str | None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


def _active_pems() -> tuple[str, ...]:
    """The PEMs of the signing keys not past their ``expires_at`` (``IDP_OIDC_PRIVATE_KEYS``
    and ``IDP_OIDC_PRIVATE_KEY``, as the library reads them), without re-parsing the
    setting's dates on every request."""
    raw = getattr(settings, "IDP_OIDC_PRIVATE_KEYS", None) or []
    spec = tuple((key.get("pem"), key.get("expires_at")) for key in raw if isinstance(key, dict))
    single = getattr(settings, "IDP_OIDC_PRIVATE_KEY", "")
    if single:
        spec += ((single, None),)
    now = clock.now()
    return tuple(pem for pem, expires in spec
                 if isinstance(pem, str) and (expires is None or _when(expires) > now))


@functools.lru_cache(maxsize=64)
def _when(value: Any) -> datetime:
    from allauth.idp.oidc import app_settings

    parsed = app_settings._parse_datetime("expires_at", value)
    return parsed if parsed is not None else datetime.max.replace(tzinfo=UTC)


@functools.lru_cache(maxsize=16)
def _public_keys(pems: tuple[str, ...]) -> dict[str, Any]:
    """``{kid: public key}`` of the active signing keys (keyed by the PEMs, so a rotation
    is picked up at once; ``signing`` parses each PEM once per process)."""
    from allauth.core.internal import jwkkit

    keys = {}
    for pem in pems:
        jwk, private_key = jwkkit.load_jwk_from_pem(pem)
        keys[jwk["kid"]] = private_key.public_key()
    return keys


# Verified tokens, by their exact string, the active keys and the resource: a hit skips
# PyJWT's parse and the RSA verification (most of the cost) for a token already seen in
# this process, as the session JWTs do (``credentials.tokens``). Only tokens that verified
# are kept, a retired key drops its tokens at once, and expiry is checked on every call.
@functools.lru_cache(maxsize=2048)
def _verified_claims(token: str, pems: tuple[str, ...], audience: str,
                     issuer: str) -> dict[str, Any]:
    header = _header(token)
    key = _public_keys(pems).get(str(header.get("kid"))) if header else None
    if key is None or header is None or header.get("alg") != ALGORITHM:
        raise TokenInvalid()
    try:
        claims = jwt.decode(
            token, key=key, algorithms=[ALGORITHM], audience=audience, issuer=issuer,
            options={"require": ["exp", "iss", "aud", "jti", "client_id"],
                     "verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.PyJWTError as exc:
        raise TokenInvalid() from exc
    # PyJWT accepts an `aud` list that merely contains ours; we write one string.
    if claims.get("aud") != audience or claims.get("token_use") != "access":
        raise TokenInvalid()
    if type(claims.get("exp")) is not int or not isinstance(claims.get("client_id"), str):
        raise TokenInvalid()
    return claims


def _header(token: str) -> dict[str, Any] | None:
    """The JOSE header of a compact JWS, unverified (read once per request: PyJWT's own
    reader validates every character, ~100 us on an RS256 token)."""
    if not token.startswith("ey") or token.count(".") != 2:
        return None
    head = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, TypeError):
        return None
    return header if isinstance(header, dict) else None


def is_oauth_token(token: str) -> bool:
    """Whether ``token`` is one of ours by its header (RS256 with a ``kid``): the app's
    session JWTs are HS256 without one, so the two never reach each other's check."""
    header = _header(token)
    return header is not None and header.get("alg") == ALGORITHM and isinstance(
        header.get("kid"), str)


def authenticate_oauth_token(token: str, resource: str) -> tuple[Any, OAuthAccessToken]:
    """``(user, OAuthAccessToken)`` for a live access token issued for ``resource`` (an
    identifier or a path under ``SITE_URL``); raise ``TokenInvalid`` otherwise."""
    audience = resource if "://" in resource else resources.resource_id(resource)
    if len(token) > TOKEN_MAX_LENGTH:
        raise TokenInvalid()
    claims = _verified_claims(token, _active_pems(), audience, resources.issuer())
    if claims["exp"] <= clock.time() - int(auth_settings.JWT_LEEWAY):
        raise TokenInvalid()
    # The row decides: revocation (a grant, the token, a reused code or refresh token)
    # deletes it. By its hash (indexed), with its user, in one compiled query.
    row = fetch_token(hashlib.sha256(token.encode()).hexdigest())
    if (row is None or row.type != Token.Type.ACCESS_TOKEN or row.client_id is None
            or row.client_id != claims["client_id"]
            or row.expires_at is None or row.expires_at <= clock.now()):
        raise TokenInvalid()
    # A client_credentials token has no user of its own: it acts for the client's owner
    # (a second query, for machine clients only).
    user = row.user if row.user_id is not None else row.client.owner
    if user is None or not may_authenticate(user):
        raise TokenInvalid()
    grant_id = row.data.get("grant_id") if isinstance(row.data, dict) else None
    return user, OAuthAccessToken(
        claims=claims, client_id=row.client_id, scopes=frozenset(row.get_scopes()),
        resource=audience, grant_id=grant_id,
    )


def fetch_token(digest: str) -> Token | None:
    """The library's token row with this hash and its user: ``credentials.lookups``'
    compiled lookup (built once per connection, not per request), like the session's."""
    alias = router.db_for_read(Token)
    connection = connections[alias]
    cache: dict[tuple[str, str], CompiledLookup] | None = getattr(
        connection, "_ainative_lookups", None)
    if cache is None:
        cache = {}
        connection._ainative_lookups = cache  # type: ignore[attr-defined]
    lookup = cache.get(("oauth_token", "hash"))
    if lookup is None:
        lookup = cache[("oauth_token", "hash")] = CompiledLookup(
            Token, "hash", "user", "", alias, only=TOKEN_FIELDS)
    return lookup.fetch(digest)


def require_scopes(auth: OAuthAccessToken, needed: list[str] | tuple[str, ...]) -> None:
    """Raise ``InsufficientScope`` unless ``auth`` holds every scope in ``needed``."""
    missing = [scope for scope in needed if not auth.has_scope(scope)]
    if missing:
        raise InsufficientScope(f"The token lacks the scope {', '.join(missing)} needed here.")


class OAuthAccessTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <OAuth access token>`` at the resource ``resource`` (a path
    under ``SITE_URL``; set it on a subclass or the view as ``oauth_resource``).

    Answers None for any other Bearer token (the app's session JWTs, API keys), so it sits
    beside ``JWTAuthentication`` in a view's list."""

    resource: str | None = None
    www_authenticate_realm = "api"

    def authenticate(self, request: Request) -> tuple[Any, OAuthAccessToken] | None:
        token = bearer_token(request.META.get("HTTP_AUTHORIZATION"))
        if token is None or not is_oauth_token(token):
            return None
        view = request.parser_context.get("view") if request.parser_context else None
        resource = self.resource or getattr(view, "oauth_resource", None) or (
            resources.default_resource() or "")
        return authenticate_oauth_token(token, resource)

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{self.www_authenticate_realm}"'


class APIResourceAuthentication(OAuthAccessTokenAuthentication):
    """OAuth access tokens on the API's own views (``ainative_auth.urls``), for the API
    resource only (the path the API is mounted at, e.g. ``<site>/api/v1``): a token issued
    for ``/mcp`` is a 401 here. The API's views list it through the app config's
    ``bearer_authentication`` (``authentication.default_authentication_classes``). Its
    scopes limit it like an API key's (``permissions.HasScope``)."""

    def authenticate(self, request: Request) -> tuple[Any, OAuthAccessToken] | None:
        token = bearer_token(request.META.get("HTTP_AUTHORIZATION"))
        if token is None or not is_oauth_token(token):
            return None
        return authenticate_oauth_token(token, api_resource_path() or "")
