"""The resource-server side: OAuth access tokens at our own resources.

``authenticate_oauth_token(token, resource)`` is the one check (the DRF class below, the
middleware and the MCP server call it): the JWT's signature (RS256 only, a key of ours by
its ``kid``), ``iss`` = the issuer, ``aud`` = this resource, ``exp``, then the token's row
in the library's table (one indexed query with its user and client), so a revoked grant,
a revoked token or a reused refresh token ends the token on the very next request in any
process. Read-only, like the rest of the hot path: no signals, no writes.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Any

import jwt
from allauth.idp.oidc.models import Token
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from .. import clock
from ..authentication import bearer_token
from ..conf import auth_settings
from ..exceptions import InsufficientScope, TokenInvalid
from ..users import may_authenticate
from . import resources

ALGORITHM = "RS256"


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


# Public keys by kid, derived once per private key (loading a PEM costs ~1 ms; verifying
# with a loaded key ~40 us). Keyed by the PEM too, so a rotation is picked up at once.
_keys: dict[str, tuple[str, Any]] = {}
_lock = threading.Lock()


def _public_key(kid: str) -> Any:
    from allauth.core.internal import jwkkit
    from allauth.idp.oidc.adapter import get_adapter

    pems = [key.pem for key in get_adapter().list_private_keys(is_active=True)]
    cached = _keys.get(kid)
    if cached is not None and cached[0] in pems:
        return cached[1]
    for pem in pems:
        jwk, private_key = jwkkit.load_jwk_from_pem(pem)
        with _lock:
            _keys[jwk["kid"]] = (pem, private_key.public_key())
    found = _keys.get(kid)
    return found[1] if found is not None and found[0] in pems else None


def is_oauth_token(token: str) -> bool:
    """Whether ``token`` is one of ours by its header (RS256 with a ``kid``): the app's
    session JWTs are HS256 without one, so the two never reach each other's check."""
    if not token.startswith("ey") or token.count(".") != 2:
        return False
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return False
    return header.get("alg") == ALGORITHM and isinstance(header.get("kid"), str)


def authenticate_oauth_token(token: str, resource: str) -> tuple[Any, OAuthAccessToken]:
    """``(user, OAuthAccessToken)`` for a live access token issued for ``resource`` (an
    identifier or a path under ``SITE_URL``); raise ``TokenInvalid`` otherwise."""
    audience = resource if "://" in resource else resources.resource_id(resource)
    try:
        header = jwt.get_unverified_header(token)
        key = _public_key(str(header.get("kid"))) if header.get("alg") == ALGORITHM else None
        if key is None:
            raise TokenInvalid()
        claims = jwt.decode(
            token, key=key, algorithms=[ALGORITHM], audience=audience,
            issuer=resources.issuer(), leeway=int(auth_settings.JWT_LEEWAY),
            options={"require": ["exp", "iss", "aud", "jti", "client_id"]},
        )
    except jwt.PyJWTError as exc:
        raise TokenInvalid() from exc
    if claims.get("token_use") != "access":
        raise TokenInvalid()
    # The row decides: revocation (a grant, the token, a reused code or refresh token)
    # deletes it. By its unique (type, hash) index.
    row = (Token.objects.select_related("user", "client", "client__owner")
           .filter(type=Token.Type.ACCESS_TOKEN, hash=hashlib.sha256(token.encode()).hexdigest(),
                   expires_at__gt=clock.now())
           .first())
    if row is None or row.client is None or row.client.id != claims["client_id"]:
        raise TokenInvalid()
    user = row.user if row.user_id is not None else row.client.owner
    if user is None or not may_authenticate(user):
        raise TokenInvalid()
    grant_id = row.data.get("grant_id") if isinstance(row.data, dict) else None
    return user, OAuthAccessToken(
        claims=claims, client_id=row.client.id, scopes=frozenset(row.get_scopes()),
        resource=audience, grant_id=grant_id,
    )


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
