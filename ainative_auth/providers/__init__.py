"""GitHub and LinkedIn (OpenID Connect) through django-allauth: the one package that knows
allauth's provider internals and talks to the providers (``base``: configuration;
``http``: bounded calls; ``github``; ``oidc``).

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

from urllib.parse import urlencode

from . import github, oidc
from .base import SUPPORTED, Identity, Provider, configured_providers, get_provider

__all__ = ["SUPPORTED", "Identity", "Provider", "authorization_url", "configured_providers",
           "fetch_identity", "get_provider"]


def authorization_url(
    provider: Provider, *, redirect_uri: str, state: str, code_challenge: str,
    nonce: str | None,
) -> str:
    """Where the frontend sends the user: the provider's authorization endpoint with our
    client id, the exact redirect_uri, the scopes, the state, the PKCE S256 challenge
    and (OIDC) the nonce. The project's allauth ``AUTH_PARAMS`` are added, but cannot
    replace any of these."""
    if provider.is_oidc:
        endpoint = oidc.discovery(provider)["authorization_endpoint"]
    else:
        endpoint = f"{github.urls(provider)[0]}/login/oauth/authorize"
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


def fetch_identity(
    provider: Provider, *, code: str, redirect_uri: str, code_verifier: str | None,
    nonce: str | None,
) -> Identity:
    """Exchange ``code`` (with the same ``redirect_uri``, and the PKCE verifier when there
    is one) and read who the user is. Raises ``InvalidCode`` (the provider rejected the
    code), ``InvalidIDToken`` and ``ProviderUnavailable``."""
    if provider.is_oidc:
        return oidc.identity(provider, code, redirect_uri, code_verifier, nonce)
    return github.identity(provider, code, redirect_uri, code_verifier)
