"""OpenID Connect (LinkedIn): discovery, JWKS, the code exchange and ID-token validation.

The ID token is always verified against the issuer's JWKS (allauth skips the signature
when it fetched the token itself), with ``iss`` exact, ``aud`` our client id (and ``azp``
when there are several audiences), ``exp``, the ``nonce`` we issued, and an asymmetric
algorithm (``none`` and HMAC are refused). Only an ``email_verified`` that is boolean
true counts (allauth's ``parse_bool_safely`` also takes "true").
"""

from __future__ import annotations

import hmac
import logging
from typing import Any
from urllib.parse import urlsplit

import jwt
from django.core.cache import caches

from ..conf import auth_settings
from ..exceptions import InvalidIDToken, ProviderUnavailable
from .base import (
    UID_MAX_LENGTH,
    Identity,
    Provider,
    exchange_data,
    issuer_of,
    printable,
    profile,
    string,
)
from .http import call, json_object, token_answer

logger = logging.getLogger("ainative_auth")

# Seconds a discovery document or a JWKS is kept in the cache.
METADATA_CACHE_SECONDS = 3600
# ID-token signatures we accept: asymmetric only, so neither `none` nor an HMAC keyed with
# something public can pass.
ID_TOKEN_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


def _cached(key: str, fetch: Any, *, fresh: bool = False) -> Any:
    cache = caches[auth_settings.OAUTH_CACHE]
    cache_key = f"ainative_auth:oauth:meta:{key}"
    if not fresh:
        try:
            value = cache.get(cache_key)
        except Exception:  # noqa: BLE001 - a cache outage only costs a fetch
            value = None
        if value is not None:
            return value
    value = fetch()
    try:
        cache.set(cache_key, value, timeout=METADATA_CACHE_SECONDS)
    except Exception:  # noqa: BLE001
        logger.warning("could not cache provider metadata")
    return value


def _absolute_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("https", "http") and bool(parts.netloc)


def discovery(provider: Provider) -> dict[str, Any]:
    """The issuer's discovery document (cached), with allauth's
    ``openid_configuration_overrides`` applied, checked to belong to the configured
    issuer (OpenID Connect Discovery section 4.3)."""

    def fetch() -> dict[str, Any]:
        config = json_object(call("GET", provider.discovery_url, headers={
            "Accept": "application/json"}), "discovery document")
        config.update(provider.app_settings.get("openid_configuration_overrides") or {})
        issuer = config.get("issuer")
        if not isinstance(issuer, str) or issuer.rstrip("/") != issuer_of(provider):
            logger.error("discovery document of %s names issuer %r", provider.id, issuer)
            raise ProviderUnavailable()
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not _absolute_url(config.get(name)):
                logger.error("discovery document of %s has no usable %s", provider.id, name)
                raise ProviderUnavailable()
        return config

    result: dict[str, Any] = _cached(f"discovery:{provider.discovery_url}", fetch)
    return result


def _jwks(url: str, *, fresh: bool = False) -> list[Any]:
    def fetch() -> list[Any]:
        body = json_object(call("GET", url, headers={"Accept": "application/json"}), "JWKS")
        keys = body.get("keys")
        if not isinstance(keys, list):
            logger.warning("JWKS without a key list")
            raise ProviderUnavailable()
        return keys

    result: list[Any] = _cached(f"jwks:{url}", fetch, fresh=fresh)
    return result


def _pick_key(keys: list[Any], kid: str | None, alg: str) -> dict[str, Any] | None:
    candidates = [
        key for key in keys
        if isinstance(key, dict)
        and key.get("use", "sig") == "sig"
        and key.get("kty") != "oct"
        and key.get("alg", alg) == alg
        and (kid is None or key.get("kid") == kid)
    ]
    if kid is None and len(candidates) != 1:
        return None  # without a kid, only an unambiguous key will do
    return candidates[0] if candidates else None


def _signing_key(jwks_uri: str, kid: str | None, alg: str) -> Any:
    jwk = _pick_key(_jwks(jwks_uri), kid, alg)
    if jwk is None:
        # The issuer may have rotated its keys since we cached them: look once more.
        jwk = _pick_key(_jwks(jwks_uri, fresh=True), kid, alg)
    if jwk is None:
        raise InvalidIDToken()
    try:
        return jwt.PyJWK(jwk, algorithm=alg).key
    except Exception as exc:  # noqa: BLE001 - any malformed key
        raise InvalidIDToken() from exc


def validate_id_token(
    provider: Provider, config: dict[str, Any], id_token: str, nonce: str | None
) -> dict[str, Any]:
    """The claims of ``id_token`` after OpenID Connect Core section 3.1.3.7's checks;
    raise ``InvalidIDToken`` for any failure."""
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError as exc:
        raise InvalidIDToken() from exc
    alg, kid = header.get("alg"), header.get("kid")
    supported = config.get("id_token_signing_alg_values_supported")
    if (
        not isinstance(alg, str)
        or alg not in ID_TOKEN_ALGORITHMS
        or (isinstance(supported, list) and alg not in supported)
        or (kid is not None and not isinstance(kid, str))
    ):
        raise InvalidIDToken()
    key = _signing_key(config["jwks_uri"], kid, alg)
    try:
        claims = jwt.decode(
            id_token,
            key=key,
            algorithms=[alg],
            audience=provider.client_id,
            issuer=config["issuer"],
            leeway=int(auth_settings.JWT_LEEWAY),
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidIDToken() from exc
    audience = claims.get("aud")
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != provider.client_id:
        raise InvalidIDToken()
    if nonce is not None:
        got = claims.get("nonce")
        if not isinstance(got, str) or not hmac.compare_digest(got.encode(), nonce.encode()):
            raise InvalidIDToken()
    sub = claims.get("sub")
    if (not isinstance(sub, str) or not sub or len(sub) > UID_MAX_LENGTH
            or printable(sub) != sub):
        raise InvalidIDToken()
    return claims


def identity(
    provider: Provider, code: str, redirect_uri: str, code_verifier: str | None,
    nonce: str | None,
) -> Identity:
    config = discovery(provider)
    data = exchange_data(code, redirect_uri, code_verifier)
    auth = None
    method = provider.app_settings.get("token_auth_method")
    if method is None:
        # allauth's choice: Basic only when the issuer offers it and not the POST form.
        methods = config.get("token_endpoint_auth_methods_supported") or []
        basic = "client_secret_post" not in methods and "client_secret_basic" in methods
    else:
        basic = method == "client_secret_basic"
    if basic:
        auth = (provider.client_id, provider.secret)
    else:
        data.update(client_id=provider.client_id, client_secret=provider.secret)
    token = token_answer(call("POST", config["token_endpoint"], data=data, auth=auth,
                              headers={"Accept": "application/json"}))
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        logger.warning("token response of %s without an ID token", provider.id)
        raise ProviderUnavailable()
    claims = validate_id_token(provider, config, id_token, nonce)

    email = string(claims.get("email"), "email")
    email_verified = claims.get("email_verified") is True
    answered = claims
    if email is None and _absolute_url(config.get("userinfo_endpoint")):
        # Some issuers keep the address out of the ID token; the UserInfo answer counts
        # only if it is about the same subject (OpenID Connect Core section 5.3.2).
        info = json_object(call("GET", config["userinfo_endpoint"], headers={
            "Authorization": f"Bearer {token['access_token']}",
            "Accept": "application/json"}), "userinfo")
        if info.get("sub") != claims["sub"]:
            logger.warning("userinfo of %s is about another subject", provider.id)
            raise ProviderUnavailable()
        email = string(info.get("email"), "email")
        email_verified = info.get("email_verified") is True
        answered = {**info, **claims}
    name = string(answered.get("name"), "name") or " ".join(
        part for part in (string(answered.get("given_name"), "given_name"),
                          string(answered.get("family_name"), "family_name")) if part
    )
    kept = ("sub", "iss", "name", "given_name", "family_name", "email", "email_verified",
            "picture", "locale")
    extra = {"id_token": profile(answered, kept)}
    return Identity(provider.id, claims["sub"], email, bool(email) and email_verified, name,
                    extra)
