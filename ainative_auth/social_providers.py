"""GitHub and LinkedIn (OpenID Connect) through django-allauth: the one module that knows
allauth's provider internals and talks to the providers.

The flow is ours (no allauth views, no Django session): the frontend brings a ``code``
and we exchange it here. allauth supplies the configuration: its apps (settings
``SOCIALACCOUNT_PROVIDERS[...]["APPS"]`` or the admin's ``SocialApp``), its provider
classes (scopes, auth params, the OIDC ``server_url``), and its HTTP session factory.

**allauth API used here** (check these on an allauth upgrade; nothing else in
ainative_auth touches allauth's provider internals):

- ``allauth.socialaccount.adapter.get_adapter()``: ``.list_apps(request, provider=...)``
  and ``.get_requests_session()``;
- ``allauth.socialaccount.providers.registry``: ``.load()``, ``.get_class(id)``;
- provider instances ``provider_class(request, app=app)``: ``.get_scope()``,
  ``.get_auth_params()``, ``.get_settings()``, ``.sub_id``, and for OpenID Connect
  ``.server_url`` (the discovery URL);
- ``SocialApp`` fields ``provider``, ``provider_id``, ``client_id``, ``secret``,
  ``name``, ``settings`` (``server_url``, ``token_auth_method``, ``scope``,
  ``openid_configuration_overrides``, ``hidden``);
- the GitHub URL rule of ``allauth.socialaccount.providers.github.views``
  (``GITHUB_URL`` → ``{GITHUB_URL}/login/oauth/...`` and ``{GITHUB_URL}/api/v3``, else
  github.com and api.github.com), repeated here because allauth binds it when the module
  is imported, before a test's or a project's settings are read.

What we do ourselves, because allauth does it differently from what this app promises:

- every outbound call has the ``OAUTH_TIMEOUT`` timeout (connect, read and whole body),
  follows no redirect, and reads at most ``MAX_RESPONSE_BYTES``; an error, a timeout or an
  unusable answer (also JSON sent under another content type) is ``ProviderUnavailable``
  (502); a rejected code is ``InvalidCode``
  (400). allauth's ``OAuth2Client`` cannot tell the two apart and follows redirects;
- the LinkedIn ID token is always verified against the issuer's JWKS (allauth skips the
  signature when it fetched the token itself), with ``iss`` exact, ``aud`` our client id
  (and ``azp`` when there are several audiences), ``exp``, the ``nonce`` we issued, and
  an asymmetric algorithm (``none`` and HMAC are refused);
- only GitHub's primary and verified address, and an OIDC ``email_verified`` that is
  boolean true, count as verified (allauth's ``parse_bool_safely`` also takes "true").

Provider access tokens are used for the calls here and then dropped: never stored,
never logged.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
import requests
import urllib3
from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from allauth.socialaccount.providers import registry
from django.core.cache import caches
from django.http import HttpRequest

from .conf import auth_settings
from .exceptions import InvalidCode, InvalidIDToken, ProviderNotConfigured, ProviderUnavailable

logger = logging.getLogger("ainative_auth")

# Our provider ids (the URL segment and ``SocialAccount.provider``) and the allauth
# provider class each one uses. LinkedIn is an OpenID Connect app with provider_id
# "linkedin" (allauth's linkedin_oauth2 provider is deprecated).
SUPPORTED: dict[str, str] = {"github": "github", "linkedin": "openid_connect"}
DEFAULT_NAMES = {"github": "GitHub", "linkedin": "LinkedIn"}
# Least privilege (R73), used when the project's allauth configuration names no scope.
DEFAULT_SCOPES = {"github": ["read:user", "user:email"],
                  "openid_connect": ["openid", "profile", "email"]}
DEFAULT_LINKEDIN_SERVER_URL = "https://www.linkedin.com/oauth"

# Largest provider answer we read (a GitHub profile or a JWKS is a few KB).
MAX_RESPONSE_BYTES = 1024 * 1024
# Seconds a discovery document or a JWKS is kept in the cache.
METADATA_CACHE_SECONDS = 3600
# Token-endpoint errors that mean "this code (with this redirect_uri/verifier) is no
# good": RFC 6749 `invalid_grant`, GitHub's `bad_verification_code` and
# `redirect_uri_mismatch`, and LinkedIn's `invalid_request` (its answer to an expired or
# mismatched code). Anything else (`invalid_client`, ...) is our configuration: a 502.
REJECTED_CODE_ERRORS = frozenset(
    {"invalid_grant", "bad_verification_code", "redirect_uri_mismatch", "invalid_request"}
)
# ID-token signatures we accept: asymmetric only, so neither `none` nor an HMAC keyed with
# something public can pass.
ID_TOKEN_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
UID_MAX_LENGTH = 191  # SocialAccount.uid


@dataclass(frozen=True)
class Provider:
    """A configured provider, read from allauth's app and provider class when needed."""

    id: str
    name: str
    kind: str  # allauth's provider class id: "github" or "openid_connect"
    client_id: str
    secret: str = field(repr=False)  # never in a log line or a traceback's locals
    scope: list[str] = field(default_factory=list)
    auth_params: dict[str, Any] = field(default_factory=dict)
    app_settings: dict[str, Any] = field(default_factory=dict, repr=False)
    provider_settings: dict[str, Any] = field(default_factory=dict, repr=False)
    discovery_url: str = ""  # OpenID Connect

    @property
    def is_oidc(self) -> bool:
        return self.kind == "openid_connect"


@dataclass(frozen=True)
class Identity:
    """Who the provider says the user is. ``uid`` is the provider's immutable id (GitHub's
    numeric ``id`` as a string, the OIDC ``sub``); ``email`` is as the provider gave it
    (None if it gave none), ``email_verified`` True only if the provider asserted it."""

    provider: str
    uid: str
    email: str | None
    email_verified: bool
    name: str = ""
    extra_data: dict[str, Any] = field(default_factory=dict)


# --- configuration (allauth) ---------------------------------------------------------------


def _app_for(provider_id: str, request: HttpRequest | None) -> Any | None:
    kind = SUPPORTED.get(provider_id)
    registry.load()  # get_class() alone does not import the installed provider modules
    if kind is None or registry.get_class(kind) is None:
        return None  # not ours, or allauth's provider app is not installed
    apps = [
        app
        for app in get_social_adapter().list_apps(request, provider=provider_id)
        if app.provider == kind and (app.provider_id or app.provider) == provider_id
        and app.client_id
    ]
    if len(apps) > 1:
        # allauth's own rule for several apps of one provider: the one not marked hidden.
        apps = [app for app in apps if not (app.settings or {}).get("hidden")]
    if len(apps) != 1:
        if apps:
            logger.error("%d apps configured for provider %s; expected one", len(apps),
                         provider_id)
        return None
    return apps[0]


def get_provider(provider_id: str, request: HttpRequest | None = None) -> Provider:
    """The configured provider ``provider_id``; raise ``ProviderNotConfigured`` (404) if
    it is not one we support, allauth's provider app is missing, or no app with a client
    id is configured for it."""
    app = _app_for(provider_id, request)
    if app is None:
        raise ProviderNotConfigured()
    kind = SUPPORTED[provider_id]
    instance = registry.get_class(kind)(request, app=app)
    app_settings = dict(app.settings or {})
    provider_settings = dict(instance.get_settings() or {})
    configured_scope = app_settings.get("scope", provider_settings.get("SCOPE"))
    scope = list(instance.get_scope()) if configured_scope is not None else []
    scope = scope or list(DEFAULT_SCOPES[kind])
    if kind == "openid_connect" and "openid" not in scope:
        scope.insert(0, "openid")  # without it there is no ID token
    discovery_url = ""
    if kind == "openid_connect":
        app_settings.setdefault("server_url", DEFAULT_LINKEDIN_SERVER_URL)
        app.settings = app_settings
        discovery_url = str(instance.server_url)
    return Provider(
        id=instance.sub_id,
        name=str(app.name or DEFAULT_NAMES[provider_id]),
        kind=kind,
        client_id=str(app.client_id),
        secret=str(app.secret or ""),
        scope=scope,
        auth_params=dict(instance.get_auth_params() or {}),
        app_settings=app_settings,
        provider_settings=provider_settings,
        discovery_url=discovery_url,
    )


def configured_providers(request: HttpRequest | None = None) -> list[Provider]:
    """Every supported provider that is configured, in a fixed order."""
    found = []
    for provider_id in SUPPORTED:
        try:
            found.append(get_provider(provider_id, request))
        except ProviderNotConfigured:
            continue
    return found


def _github_urls(provider: Provider) -> tuple[str, str]:
    """(web URL, API URL): allauth's GitHub rule, read now rather than at import."""
    base = provider.provider_settings.get("GITHUB_URL")
    if base:
        web = str(base).rstrip("/")
        return web, f"{web}/api/v3"
    return "https://github.com", "https://api.github.com"


def issuer_of(provider: Provider) -> str:
    """The configured issuer: ``server_url`` without the discovery path."""
    server_url = str(provider.app_settings.get("server_url") or DEFAULT_LINKEDIN_SERVER_URL)
    return server_url.split("/.well-known/", 1)[0].rstrip("/")


# --- HTTP ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    content_type: str = ""

    @property
    def is_json(self) -> bool:
        """``application/json`` or a ``+json`` type (``application/jwk-set+json``, ...)."""
        media = self.content_type.split(";", 1)[0].strip().lower()
        return media == "application/json" or (
            media.startswith("application/") and media.endswith("+json"))


def _call(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    data: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> _Answer:
    """One bounded request to a provider: no redirects followed, ``OAUTH_TIMEOUT`` for
    connecting, for each read and for the whole body, at most ``MAX_RESPONSE_BYTES``.
    Any failure is ``ProviderUnavailable``."""
    timeout = float(auth_settings.OAUTH_TIMEOUT)
    # A network deadline, not a moment in time: the monotonic clock, which freezing the
    # app's clock in tests leaves alone.
    deadline = time.monotonic() + timeout
    host = urlsplit(url).netloc
    try:
        # allauth's session (a project's socialaccount adapter may add proxies or
        # certificates there), with our timeout given per request.
        with get_social_adapter().get_requests_session() as session:
            response = session.request(
                method, url, headers={"User-Agent": "ainative-auth", **(headers or {})},
                data=data, auth=auth, timeout=timeout, allow_redirects=False, stream=True,
            )
            with response:
                chunks, size = [], 0
                for chunk in _body_chunks(response):
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        logger.warning("provider %s answered more than %d bytes", host,
                                       MAX_RESPONSE_BYTES)
                        raise ProviderUnavailable()
                    if time.monotonic() > deadline:
                        raise requests.Timeout("the whole answer took too long")
                    chunks.append(chunk)
                return _Answer(response.status_code, b"".join(chunks),
                               str(response.headers.get("Content-Type", "")))
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
        logger.warning("provider %s unreachable: %s", host, type(exc).__name__)
        raise ProviderUnavailable() from exc


def _body_chunks(response: requests.Response) -> Iterator[bytes]:
    """The body as it arrives: ``read1`` returns whatever one socket read brought (so the
    whole-body deadline is checked between small reads), where ``iter_content`` would
    block until a full chunk or the end. urllib3 before 2.0 has no ``read1``."""
    read1 = getattr(response.raw, "read1", None)
    if read1 is None:  # pragma: no cover - urllib3 1.x
        yield from response.iter_content(chunk_size=65536)
        return
    while chunk := read1(65536, decode_content=True):
        yield chunk


def _json(answer: _Answer, what: str) -> Any:
    if not answer.is_json:
        logger.warning("provider sent a %s as %r, not JSON", what, answer.content_type[:50])
        raise ProviderUnavailable()
    try:
        return json.loads(answer.body)
    except (ValueError, RecursionError) as exc:
        logger.warning("provider sent a %s that is not JSON", what)
        raise ProviderUnavailable() from exc


def _json_object(answer: _Answer, what: str) -> dict[str, Any]:
    if answer.status != 200:
        logger.warning("provider answered %s to the %s request", answer.status, what)
        raise ProviderUnavailable()
    body = _json(answer, what)
    if not isinstance(body, dict):
        logger.warning("provider sent a %s that is not a JSON object", what)
        raise ProviderUnavailable()
    return body


def _token_answer(answer: _Answer) -> dict[str, Any]:
    """The token endpoint's answer, or ``InvalidCode`` / ``ProviderUnavailable``.

    GitHub reports a bad code with a 200 and ``{"error": ...}``; RFC 6749 providers with
    a 400 (or 401). A 5xx, a redirect, or a body that is not JSON is the provider's
    problem, whatever it says.
    """
    if answer.status not in (200, 400, 401):
        logger.warning("token endpoint answered %s", answer.status)
        raise ProviderUnavailable()
    body = _json(answer, "token response")
    if not isinstance(body, dict):
        raise ProviderUnavailable()
    error = body.get("error")
    if error is not None or answer.status != 200:
        if isinstance(error, str) and error in REJECTED_CODE_ERRORS:
            raise InvalidCode()
        logger.error("token endpoint refused the exchange: %s (check the client id, "
                     "secret and scopes)", error if isinstance(error, str) else answer.status)
        raise ProviderUnavailable()
    if not isinstance(body.get("access_token"), str) or not body["access_token"]:
        logger.warning("token response without an access token")
        raise ProviderUnavailable()
    return body


# --- the authorization URL -----------------------------------------------------------------


def authorization_url(
    provider: Provider, *, redirect_uri: str, state: str, code_challenge: str,
    nonce: str | None,
) -> str:
    """Where the frontend sends the user: the provider's authorization endpoint with our
    client id, the exact redirect_uri, the scopes, the state, the PKCE S256 challenge
    and (OIDC) the nonce. The project's allauth ``AUTH_PARAMS`` are added, but cannot
    replace any of these."""
    if provider.is_oidc:
        endpoint = _discovery(provider)["authorization_endpoint"]
    else:
        endpoint = f"{_github_urls(provider)[0]}/login/oauth/authorize"
    params: dict[str, str] = {str(k): str(v) for k, v in provider.auth_params.items()}
    params.update({
        "client_id": provider.client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": " ".join(provider.scope),
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    })
    if nonce is not None:
        params["nonce"] = nonce
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{urlencode(params)}"


# --- the exchange --------------------------------------------------------------------------


def fetch_identity(
    provider: Provider, *, code: str, redirect_uri: str, code_verifier: str | None,
    nonce: str | None,
) -> Identity:
    """Exchange ``code`` (with the same ``redirect_uri``, and the PKCE verifier when there
    is one) and read who the user is. Raises ``InvalidCode`` (the provider rejected the
    code), ``InvalidIDToken`` and ``ProviderUnavailable``."""
    if provider.is_oidc:
        return _oidc_identity(provider, code, redirect_uri, code_verifier, nonce)
    return _github_identity(provider, code, redirect_uri, code_verifier)


def _exchange_data(code: str, redirect_uri: str, code_verifier: str | None) -> dict[str, str]:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier:
        data["code_verifier"] = code_verifier
    return data


def _printable(value: str) -> str:
    """``value`` without control characters (PostgreSQL refuses NUL in text and JSON)."""
    return "".join(char for char in value if unicodedata.category(char) != "Cc")


def _profile(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The scalar fields of ``data`` named by ``keys``, strings made printable: what is
    kept in ``SocialAccount.extra_data`` (never a token)."""
    kept: dict[str, Any] = {}
    for key in keys:
        value = data.get(key)
        if isinstance(value, str):
            kept[key] = _printable(value)
        elif isinstance(value, bool | int):
            kept[key] = value
    return kept


def _string(value: Any, what: str) -> str | None:
    """A claim that must be a string if present (None when absent or null)."""
    if value is None:
        return None
    if not isinstance(value, str):
        logger.warning("provider sent a %s that is not a string", what)
        raise ProviderUnavailable()
    return value


# GitHub -------------------------------------------------------------------------------------


def _github_uid(value: Any) -> str:
    """GitHub's numeric id as one canonical string: 123 and "123" are both "123"."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or value <= 0:
        logger.warning("GitHub user without a numeric id")
        raise ProviderUnavailable()
    return str(value)


def _github_identity(
    provider: Provider, code: str, redirect_uri: str, code_verifier: str | None
) -> Identity:
    web, api = _github_urls(provider)
    data = _exchange_data(code, redirect_uri, code_verifier)
    data.update(client_id=provider.client_id, client_secret=provider.secret)
    token = _token_answer(_call("POST", f"{web}/login/oauth/access_token",
                                headers={"Accept": "application/json"}, data=data))
    headers = {"Authorization": f"Bearer {token['access_token']}",
               "Accept": "application/vnd.github+json"}
    user = _json_object(_call("GET", f"{api}/user", headers=headers), "user")
    uid = _github_uid(user.get("id"))
    login = _string(user.get("login"), "login") or ""
    name = _string(user.get("name"), "name") or login

    email, verified = None, False
    answer = _call("GET", f"{api}/user/emails", headers=headers)
    if answer.status == 404:
        # Documented for tokens without the user:email scope: fall back on the profile's
        # public address, which GitHub does not say is verified.
        email = _string(user.get("email"), "email")
    else:
        if answer.status != 200:
            logger.warning("GitHub answered %s to /user/emails", answer.status)
            raise ProviderUnavailable()
        entries = _json(answer, "email list")
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            logger.warning("GitHub sent an email list that is not a list of objects")
            raise ProviderUnavailable()
        primary = [entry for entry in entries if entry.get("primary") is True]
        if primary:
            email = _string(primary[0].get("email"), "email")
            # Only the primary address, and only when GitHub says verified (boolean true).
            verified = primary[0].get("verified") is True
    extra = _profile(user, ("id", "login", "name", "html_url", "avatar_url"))
    return Identity(provider.id, uid, email, bool(email) and verified, name, extra)


# OpenID Connect -----------------------------------------------------------------------------


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


def _discovery(provider: Provider) -> dict[str, Any]:
    """The issuer's discovery document (cached), with allauth's
    ``openid_configuration_overrides`` applied, checked to belong to the configured
    issuer (OpenID Connect Discovery section 4.3)."""

    def fetch() -> dict[str, Any]:
        config = _json_object(_call("GET", provider.discovery_url, headers={
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
        body = _json_object(_call("GET", url, headers={"Accept": "application/json"}), "JWKS")
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
            or _printable(sub) != sub):
        raise InvalidIDToken()
    return claims


def _oidc_identity(
    provider: Provider, code: str, redirect_uri: str, code_verifier: str | None,
    nonce: str | None,
) -> Identity:
    config = _discovery(provider)
    data = _exchange_data(code, redirect_uri, code_verifier)
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
    token = _token_answer(_call("POST", config["token_endpoint"], data=data, auth=auth,
                                headers={"Accept": "application/json"}))
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        logger.warning("token response of %s without an ID token", provider.id)
        raise ProviderUnavailable()
    claims = validate_id_token(provider, config, id_token, nonce)

    email = _string(claims.get("email"), "email")
    email_verified = claims.get("email_verified") is True
    profile = claims
    if email is None and _absolute_url(config.get("userinfo_endpoint")):
        # Some issuers keep the address out of the ID token; the UserInfo answer counts
        # only if it is about the same subject (OpenID Connect Core section 5.3.2).
        info = _json_object(_call("GET", config["userinfo_endpoint"], headers={
            "Authorization": f"Bearer {token['access_token']}",
            "Accept": "application/json"}), "userinfo")
        if info.get("sub") != claims["sub"]:
            logger.warning("userinfo of %s is about another subject", provider.id)
            raise ProviderUnavailable()
        email = _string(info.get("email"), "email")
        email_verified = info.get("email_verified") is True
        profile = {**info, **claims}
    name = _string(profile.get("name"), "name") or " ".join(
        part for part in (_string(profile.get("given_name"), "given_name"),
                          _string(profile.get("family_name"), "family_name")) if part
    )
    kept = ("sub", "iss", "name", "given_name", "family_name", "email", "email_verified",
            "picture", "locale")
    extra = {"id_token": _profile(profile, kept)}
    return Identity(provider.id, claims["sub"], email, bool(email) and email_verified, name,
                    extra)
