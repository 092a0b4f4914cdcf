"""DRF authentication classes.

Each answers three ways: ``None`` (not my scheme), ``(user, auth)``, or raise (my scheme,
wrong credentials). The hot path only reads: no signals, no cleanup, no writes.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from django.apps import apps
from django.db.models import Q
from django.http import HttpRequest
from django.utils.module_loading import import_string
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from . import clock
from .adapter import get_adapter
from .conf import auth_settings
from .credentials import signatures, throttling
from .credentials.keys import (
    API_KEY_PREFIX,
    SIGNING_SECRET_PREFIX,
    matching_api_key_hash,
    parse_api_key,
)
from .credentials.lookups import fetch_api_key, fetch_session
from .credentials.tokens import InvalidAccessToken, decode_access_token
from .exceptions import (
    APIKeyInvalid,
    CredentialsInQuery,
    SignatureInvalid,
    SignatureRequired,
    TokenInvalid,
    challenge,
)
from .models import APIKey, RefreshSession
from .users import may_authenticate

logger = logging.getLogger("ainative_auth")

API_KEY_HEADER = "HTTP_X_API_KEY"  # X-API-Key
AUTHORIZATION_HEADER = "HTTP_AUTHORIZATION"


@dataclass(frozen=True)
class AccessToken:
    """``request.auth`` for a JWT request: its claims and the live session behind it."""

    claims: dict[str, Any]
    session: RefreshSession

    @property
    def session_id(self) -> Any:
        return self.session.id


def session_token(request: Request) -> AccessToken:
    """``request.auth`` of a view that only JWT sessions reach (``IsSessionAuthenticated``)."""
    if not isinstance(request.auth, AccessToken):  # pragma: no cover - the permission's job
        raise TokenInvalid()
    return request.auth


# --- the credential checks, as plain functions ------------------------------------------
#
# The DRF classes below and ``ainative_auth.middleware`` both call these, so a Bearer token
# or an API key is judged by one implementation wherever it is presented.


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value.

    None when there is no header or it names another scheme (not ours to judge); raises
    ``TokenInvalid`` for a Bearer header that holds no single token.
    """
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    if not token or " " in token:
        raise TokenInvalid("Invalid Authorization header.")
    return token


def bearer_api_key(header: str | None) -> str | None:
    """The value of ``Authorization: Bearer ak_...``: an API key sent the way clients that
    only know Bearer send it (several published AINative packages). Told apart from an
    access token by its prefix alone, before any JWT parsing; the key class judges it
    (a malformed one is its 401). None for anything else."""
    if header is None or len(header) < 10:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if token.startswith(API_KEY_PREFIX) and scheme.lower() == "bearer":
        return token
    return None


def api_key_value(meta: dict[str, Any]) -> str | None:
    """The API key a request presents: ``X-API-Key``, else ``Authorization: Bearer ak_...``.
    When both are sent, ``X-API-Key`` decides (the Bearer value is not looked at)."""
    raw = meta.get(API_KEY_HEADER)
    if raw is None:
        return bearer_api_key(meta.get(AUTHORIZATION_HEADER))
    return str(raw)


# --- no credentials in URLs -----------------------------------------------------------------

# Query parameters that carry a credential by name (RFC 6750 section 2.3's access_token,
# and the usual spellings of an API-key parameter), and values that are one whatever the
# name: an API key, a signing secret, a JWT, a refresh token.
_CREDENTIAL_PARAMETERS = frozenset({
    "access_token", "api_key", "apikey", "api-key", "x-api-key", "x_api_key",
})
_CREDENTIAL_VALUE = re.compile(
    rf"{API_KEY_PREFIX}[0-9A-Za-z]{{12}}_|{SIGNING_SECRET_PREFIX}[A-Za-z0-9_-]{{20}}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.|\b[0-9a-f]{32}\.[0-9]{1,9}\.[A-Za-z0-9_-]{43}"
)


def refuse_credentials_in_query(meta: dict[str, Any]) -> None:
    """Raise ``CredentialsInQuery`` (400) when the query string carries a token or a key.

    Costs one dict lookup without a query string. The value is never echoed or logged:
    the error body is a fixed sentence, and Django logs paths without their query.
    """
    query = meta.get("QUERY_STRING")
    if not query:
        return
    for name, value in parse_qsl(query, keep_blank_values=True):
        if (value and name.lower() in _CREDENTIAL_PARAMETERS) or _CREDENTIAL_VALUE.search(value):
            raise CredentialsInQuery()


def authenticate_access_token(token: str) -> tuple[Any, AccessToken]:
    """``(user, AccessToken)`` for a valid access token whose session is live and whose
    user may authenticate; raise ``TokenInvalid`` otherwise.

    The session row (with its user, in the same query) is read on every call, so logout,
    logout-all, password change and deactivation take effect on the very next request.
    An API key (``ak_...``) is refused before any JWT parsing: it never reaches the
    decoder or its cache of verified tokens.
    """
    if token.startswith(API_KEY_PREFIX):
        raise TokenInvalid()
    try:
        claims = decode_access_token(token)
    except InvalidAccessToken as exc:
        raise TokenInvalid() from exc
    # By primary key through the compiled lookup (one query, no queryset to build), then
    # judged by ``is_live``: the same rule as ``RefreshSession.objects.live()``.
    session = fetch_session(claims["sid"])
    if session is None or not session.is_live(clock.now()) or str(session.user_id) != claims["sub"]:
        raise TokenInvalid()
    user = session.user
    if not may_authenticate(user):
        raise TokenInvalid()
    return user, AccessToken(claims=claims, session=session)


def presents_api_key(request: HttpRequest) -> bool:
    """Whether ``request`` offers an API-key credential: ``X-API-Key``, ``Authorization:
    Bearer ak_...``, or an RFC 9421 signature (``Signature-Input``/``Signature``), which
    needs no key header."""
    meta = request.META
    return api_key_value(meta) is not None or signatures.is_v2(meta)


def authenticate_api_key(request: HttpRequest, raw: str | None) -> tuple[Any, APIKey]:
    """``(owner, APIKey)`` for a valid API key ``raw`` (``api_key_value``: ``X-API-Key``
    or ``Bearer ak_...``; None when the request carries only an RFC 9421 signature); raise
    ``APIKeyInvalid`` (or its subclasses ``SignatureInvalid``/``SignatureRequired``).

    Signed requests are judged from ``request`` itself (its headers, URL and body), a
    plain ``HttpRequest`` or a DRF ``Request``. Failures are counted per client IP (the
    ``api_key`` rate): guessing keys, or hammering with a revoked one, turns into 429s.
    Only on the failure path, so valid requests pay nothing for it.
    """
    try:
        return _check_api_key(request, raw)
    except APIKeyInvalid:
        throttling.hit("api_key", "ip_failures", get_adapter().get_client_ip(request))
        raise


def _check_api_key(request: HttpRequest, raw: str | None) -> tuple[Any, APIKey]:
    meta = request.META
    if signatures.is_v2(meta):
        return _check_signed_request(request, raw)
    parsed = parse_api_key(raw)
    if parsed is None:
        raise APIKeyInvalid()
    public_id, secret = parsed
    key = fetch_api_key(public_id)
    if key is None:
        raise APIKeyInvalid()
    now = clock.now()
    # The secret is checked before the key's state so that, for anyone who does not
    # hold the key, a revoked key and an unknown one are indistinguishable.
    matched = matching_api_key_hash(public_id, secret, _live_hashes(key, now))
    if matched is None:
        raise APIKeyInvalid()
    user = _check_state(key, now)
    # Signatures only after the key itself was proven: until then every failure above
    # looks like an unknown key. Unsigned, this is one dict lookup and one attribute.
    if signatures.V1_SIGNATURE_HEADER in meta:
        # Whether v1 may be used here at all (a write by a require_signature key needs
        # v2), before its HMAC: the answer is the same whatever the signature says.
        signatures.check_v1_allowed(request, key)
        signatures.verify_v1(request, str(raw), key, matched)
    elif key.require_signature:
        raise SignatureRequired()
    return _accept(request, key, user, now)


def _check_signed_request(request: HttpRequest, raw: str | None) -> tuple[Any, APIKey]:
    """An RFC 9421 request: the signature is the credential; an ``X-API-Key`` beside it
    must be a valid key and name the same key."""
    if signatures.V1_SIGNATURE_HEADER in request.META:
        raise SignatureInvalid("Send one signature: X-Signature or Signature-Input, not both.")
    # Everything that does not depend on the key, before the lookup.
    signed = signatures.read_v2(request)
    presented = None
    if raw is not None:
        presented = parse_api_key(raw)
        if presented is None:
            raise APIKeyInvalid()
        if presented[0] != signed.public_id:
            raise SignatureInvalid("X-API-Key and the signature's keyid name different keys.")
    key = fetch_api_key(signed.public_id)
    if key is None:
        # The same answer as a wrong signature from a real key.
        raise SignatureInvalid(signatures.DOES_NOT_VERIFY)
    now = clock.now()
    hashes = _live_hashes(key, now)
    signatures.verify_v2(signed, key, hashes)
    if presented is not None and matching_api_key_hash(*presented, hashes) is None:
        raise APIKeyInvalid()
    user = _check_state(key, now)
    return _accept(request, key, user, now)


def _live_hashes(key: APIKey, now: datetime) -> list[str]:
    """The key's current secret hash, then the previous one while the overlap lasts."""
    hashes = [key.secret_hash]
    if key.previous_secret_expires_at is not None and key.previous_secret_expires_at > now:
        hashes.append(key.previous_secret_hash)
    return hashes


def _check_state(key: APIKey, now: datetime) -> Any:
    """The key's owner, if the key is live and the owner may authenticate."""
    if key.revoked_at is not None or key.is_expired(now):
        raise APIKeyInvalid()
    user = key.user
    if not may_authenticate(user):
        raise APIKeyInvalid()
    return user


def _accept(request: HttpRequest, key: APIKey, user: Any, now: datetime) -> tuple[Any, APIKey]:
    # The request's settings in one read (still at use time).
    cache_alias, interval, rates = auth_settings.values(
        "THROTTLE_CACHE", "API_KEY_LAST_USED_INTERVAL", "THROTTLE_RATES")
    # Counted only after the credential was verified: the public id is visible in lists
    # and logs, and garbage sent with it must not use up the real client's budget.
    throttling.count_key_request(key.public_id, _key_rate(key, rates), str(cache_alias))
    _touch(request, key, now, int(interval))
    return user, key


def _key_rate(key: APIKey, rates: dict[str, Any] | None = None) -> throttling.Rate | None:
    """The key's own ``throttle_rate``, else the ``api_key`` scope's rate (``rates`` is
    the project's ``THROTTLE_RATES`` as configured, not merged with the defaults)."""
    if key.throttle_rate:
        try:
            return throttling.Rate.parse(key.throttle_rate)
        except ValueError:
            logger.error("API key %s has a bad throttle_rate; using the default",
                         key.public_id)
    if rates is None or "api_key" not in rates:
        text = auth_settings.throttle_rate("api_key")
    else:
        text = rates["api_key"]
    return throttling.Rate.parse(text) if text else None


def _touch(request: HttpRequest, key: APIKey, now: datetime, interval: int | None = None,
           ) -> None:
    """Record the use, at most once per ``interval`` seconds (``API_KEY_LAST_USED_INTERVAL``)
    and per key.

    Skipped without a query while the loaded row is fresh. The UPDATE's own WHERE makes
    concurrent requests write once between them, not once each (no row contention).
    """
    if interval is None:
        interval = int(auth_settings.API_KEY_LAST_USED_INTERVAL)
    cutoff = now - timedelta(seconds=interval)
    if key.last_used_at is not None and key.last_used_at > cutoff:
        return
    ip = get_adapter().get_client_ip(request)
    APIKey.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=cutoff), pk=key.pk
    ).update(last_used_at=now, last_used_ip=ip)
    key.last_used_at, key.last_used_ip = now, ip


# --- DRF ----------------------------------------------------------------------------------


class JWTAuthentication(BaseAuthentication):
    """``Authorization: Bearer <access token>``, checked against its session every time
    (``authenticate_access_token``). ``Bearer ak_...`` is an API key, not this class's
    scheme: it answers None and leaves it to ``APIKeyAuthentication``."""

    www_authenticate_realm = "api"

    def authenticate(self, request: Request) -> tuple[Any, AccessToken] | None:
        meta = request.META
        refuse_credentials_in_query(meta)
        token = bearer_token(meta.get(AUTHORIZATION_HEADER))
        if token is None or token.startswith(API_KEY_PREFIX):
            return None
        return authenticate_access_token(token)

    def authenticate_header(self, request: Request) -> str:
        return challenge(request)


class APIKeyAuthentication(BaseAuthentication):
    """``X-API-Key: ak_...`` or ``Authorization: Bearer ak_...`` (the same credential, with
    the same scopes, throttles and signature rules; ``X-API-Key`` decides when both are
    sent), optionally signed (v1 ``X-Signature``), or an RFC 9421 signature whose
    ``keyid`` names the key: ``request.user`` is the key's owner, ``request.auth`` the
    ``APIKey`` (``authenticate_api_key``).

    The hot path is one SELECT (the key joined with its owner) plus, at most once per
    ``API_KEY_LAST_USED_INTERVAL`` per key, one conditional UPDATE of ``last_used_at``.
    Malformed values are refused before any query. There is no positive cache: revoking
    or expiring a key takes effect on the very next request. Scopes are checked by the
    ``HasScope`` permission, not here: a key authenticates a user, it is not a permission.
    """

    header = API_KEY_HEADER
    www_authenticate_realm = "api"

    def authenticate(self, request: Request) -> tuple[Any, APIKey] | None:
        meta = request.META
        # First, so a key in the URL is refused even when no header carries one.
        refuse_credentials_in_query(meta)
        raw = meta.get(self.header)
        if raw is None:
            raw = bearer_api_key(meta.get(AUTHORIZATION_HEADER))
            if raw is None and not signatures.is_v2(meta):
                return None
        return authenticate_api_key(request, raw)

    def authenticate_header(self, request: Request) -> str:
        return challenge(request)


# What an ``AppConfig`` names (a dotted path) to add its own Bearer credential to the API's
# views: the OAuth server's access tokens for the API resource. The class must answer
# None for every Bearer token that is not its own, so the session JWTs still reach
# ``JWTAuthentication``.
BEARER_AUTHENTICATION_ATTRIBUTE = "bearer_authentication"


@functools.lru_cache(maxsize=1)
def _installed_bearer_classes() -> tuple[type[BaseAuthentication], ...]:
    """The classes installed apps add (read once: the app registry does not change while
    the process runs)."""
    paths = [getattr(config, BEARER_AUTHENTICATION_ATTRIBUTE)
             for config in apps.get_app_configs()
             if getattr(config, BEARER_AUTHENTICATION_ATTRIBUTE, None)]
    return tuple(import_string(path) for path in paths)


def default_authentication_classes() -> list[type[BaseAuthentication]]:
    """The classes on ainative_auth's protected views.

    The API key class comes first, so when a request carries both ``X-API-Key`` and a
    Bearer token the API key decides (a bad key is a 401 even next to a good token): one
    request, one identity, never the union of two. Then the Bearer credentials installed
    apps add (the OAuth server's access tokens), then the session JWTs.
    """
    return [APIKeyAuthentication, *_installed_bearer_classes(), JWTAuthentication]
