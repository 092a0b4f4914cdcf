"""The library's oauthlib server, with our request validator.

``allauth.idp.oidc`` decides almost everything; these are the rules it lacks or keeps
looser than we want:

- PKCE (S256, the library already refuses ``plain``) for every client, confidential ones
  too (OAuth 2.1 section 4.1.1), not only public ones;
- a ``redirect_uri`` matches a registered one exactly, except the port of a loopback
  redirect (RFC 8252 section 7.3); the library also accepts extra query parameters;
- a request naming no client is refused, not a 500 (the library looks ``None`` up);
- ``client_credentials`` only for a client owned by a user who may sign in;
- ``private_key_jwt`` (RFC 7523 section 2.2): a client registered with a JWKS
  authenticates with a signed assertion (``iss`` = ``sub`` = its id, ``aud`` = the token
  endpoint or the issuer, at most 5 minutes long, each ``jti`` once).
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlparse

import jwt
from allauth.idp.oidc.internal.oauthlib import server as library
from allauth.idp.oidc.internal.oauthlib.request_validator import OAuthLibRequestValidator
from allauth.idp.oidc.internal.oauthlib.server import (
    claim_authorization_code,
    generate_access_token,
    generate_refresh_token,
    validate_code_challenge_method,
)
from allauth.idp.oidc.internal.oauthlib.utils import get_validator_context
from allauth.idp.oidc.models import Client
from django.core.cache import caches
from django.urls import reverse
from oauthlib.common import Request
from oauthlib.openid import Server

from ..conf import auth_settings
from ..users import may_authenticate
from . import resources

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ["RS256", "ES256", "PS256", "EdDSA"]
ASSERTION_MAX_LIFETIME = 300
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def redirect_uri_matches(uri: str, registered: list[str]) -> bool:
    """Exact string match, or a loopback redirect differing only in its port."""
    if uri in registered:
        return True
    parsed = urlparse(uri)
    if parsed.scheme != "http" or parsed.hostname not in LOOPBACK:
        return False
    for allowed in registered:
        other = urlparse(allowed)
        if (other.scheme, other.hostname, other.path, other.query, other.params,
                other.fragment) == ("http", parsed.hostname, parsed.path, parsed.query,
                                    parsed.params, parsed.fragment) and not other.username:
            return True
    return False


def client_jwks(client: Client) -> list[dict[str, Any]]:
    metadata = (client.data or {}).get("client_metadata") or {}
    keys = (metadata.get("jwks") or {}).get("keys") if isinstance(metadata, dict) else None
    return [key for key in keys or [] if isinstance(key, dict)]


def token_endpoint_auth_method(client: Client) -> str | None:
    metadata = (client.data or {}).get("client_metadata") or {}
    return metadata.get("token_endpoint_auth_method") if isinstance(metadata, dict) else None


class OAuthServerValidator(OAuthLibRequestValidator):
    def _lookup_client(self, request: Request, client_id: Any) -> Client | None:
        # The library looks up whatever the request named, None included (a request with
        # no client_id at all), and fails on it with a 500; no id is simply no client. A
        # client_id is VSCHAR (RFC 6749 appendix A: %x20-7E): anything else, NUL included
        # (PostgreSQL refuses it in a query), names no client.
        if not resources.is_client_id(client_id):
            return None
        return super()._lookup_client(request, client_id)

    def validate_scopes(self, client_id: Any, scopes: Any, client: Client, request: Request,
                        *args: Any, **kwargs: Any) -> bool:
        if (request.grant_type == DEVICE_CODE_GRANT
                and get_validator_context().authorized_device_code is not None):
            # The device grant's scopes were checked when the device asked for them
            # (``device.start``) and approved as they are.
            return True
        return bool(super().validate_scopes(client_id, scopes, client, request))

    def is_pkce_required(self, client_id: Any, request: Request) -> bool:
        return True

    def validate_redirect_uri(self, client_id: Any, redirect_uri: str, request: Request,
                              *args: Any, **kwargs: Any) -> bool:
        return redirect_uri_matches(redirect_uri, request.client.get_redirect_uris())

    def validate_grant_type(self, client_id: Any, grant_type: str, client: Client,
                            request: Request, *args: Any, **kwargs: Any) -> bool:
        if not super().validate_grant_type(client_id, grant_type, client, request):
            return False
        if grant_type == Client.GrantType.CLIENT_CREDENTIALS:
            owner = client.owner
            if owner is None or not may_authenticate(owner):
                return False
            # The machine client acts for its owner: the token (its `sub` and its row) is
            # the owner's, so revoking, deactivating and listing work as for a person's.
            request.user = owner
        return True

    def client_authentication_required(self, request: Request, *args: Any,
                                       **kwargs: Any) -> bool:
        if getattr(request, "client_assertion_type", None) == JWT_BEARER_ASSERTION:
            return True
        return super().client_authentication_required(request, *args, **kwargs)

    def authenticate_client(self, request: Request, *args: Any, **kwargs: Any) -> bool:
        assertion_type = request._params.get("client_assertion_type")
        if assertion_type is None:
            return super().authenticate_client(request, *args, **kwargs)
        if assertion_type != JWT_BEARER_ASSERTION:
            return False
        client = self._client_from_assertion(request, request._params.get("client_assertion"))
        if client is None:
            return False
        self._use_client(request, client)
        return True

    def _client_from_assertion(self, request: Request, assertion: Any) -> Client | None:
        if not isinstance(assertion, str) or len(assertion) > 8192:
            return None
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return None
        client_id = unverified.get("iss")
        if (not isinstance(client_id, str) or unverified.get("sub") != client_id
                or request.client_id not in (None, client_id)):
            return None
        client = self._lookup_client(request, client_id)
        if client is None or token_endpoint_auth_method(client) != "private_key_jwt":
            return None
        claims = self._verified(assertion, header, client)
        if claims is None:
            return None
        # Each assertion once (RFC 7523 section 3, item 7), in the shared cache.
        lifetime = int(claims["exp"]) - int(time.time()) + 60
        cache = caches[auth_settings.OAUTH_CACHE]
        if not cache.add(f"ainative_oauth:jti:{client_id}:{claims['jti']}", 1,
                         timeout=max(lifetime, 1)):
            return None
        request.client_id = client_id
        return client

    def _verified(self, assertion: str, header: dict[str, Any],
                  client: Client) -> dict[str, Any] | None:
        alg = header.get("alg")
        if alg not in ASSERTION_ALGORITHMS:
            return None
        keys = [k for k in client_jwks(client) if k.get("kid") in (None, header.get("kid"))]
        audiences = [resources.issuer(), resources.absolute(reverse("ainative_oauth:token"))]
        for jwk in keys:
            try:
                key = jwt.PyJWK.from_json(json.dumps(jwk)).key
                claims = jwt.decode(assertion, key=key, algorithms=[str(alg)],
                                    audience=audiences, leeway=30,
                                    options={"require": ["exp", "iss", "sub", "aud", "jti"]})
            except (jwt.PyJWTError, ValueError, TypeError):
                continue
            if int(claims["exp"]) - int(claims.get("iat", time.time())) > ASSERTION_MAX_LIFETIME:
                return None
            return claims
        return None


class OAuthServer(library.OAuthLibServer):
    """``OAuthLibServer`` with ``OAuthServerValidator``."""

    def __init__(self, **kwargs: Any) -> None:
        from allauth.idp.oidc import app_settings

        Server.__init__(
            self,
            token_generator=generate_access_token,
            refresh_token_generator=generate_refresh_token,
            request_validator=OAuthServerValidator(),
            token_expires_in=app_settings.ACCESS_TOKEN_EXPIRES_IN,
            **kwargs,
        )
        for grant in (self.auth_grant, self.openid_connect_auth, self.openid_connect_hybrid):
            grant.custom_validators.pre_auth.append(validate_code_challenge_method)
        for grant in (self.auth_grant, self.openid_connect_auth):
            grant.custom_validators.post_token.append(claim_authorization_code)


def get_server(**kwargs: Any) -> OAuthServer:
    return OAuthServer(**kwargs)
