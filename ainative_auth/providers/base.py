"""Configured providers, read from django-allauth's apps and provider classes, and the
``Identity`` a provider vouches for. The allauth API this package relies on is listed in
``ainative_auth.providers``' docstring."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from allauth.socialaccount.providers import registry
from django.http import HttpRequest

from ..exceptions import ProviderNotConfigured, ProviderUnavailable

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


def issuer_of(provider: Provider) -> str:
    """The configured issuer: ``server_url`` without the discovery path."""
    server_url = str(provider.app_settings.get("server_url") or DEFAULT_LINKEDIN_SERVER_URL)
    return server_url.split("/.well-known/", 1)[0].rstrip("/")


def exchange_data(code: str, redirect_uri: str, code_verifier: str | None) -> dict[str, str]:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier:
        data["code_verifier"] = code_verifier
    return data


def printable(value: str) -> str:
    """``value`` without control characters (PostgreSQL refuses NUL in text and JSON)."""
    return "".join(char for char in value if unicodedata.category(char) != "Cc")


def profile(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The scalar fields of ``data`` named by ``keys``, strings made printable: what is
    kept in ``SocialAccount.extra_data`` (never a token)."""
    kept: dict[str, Any] = {}
    for key in keys:
        value = data.get(key)
        if isinstance(value, str):
            kept[key] = printable(value)
        elif isinstance(value, bool | int):
            kept[key] = value
    return kept


def string(value: Any, what: str) -> str | None:
    """A claim that must be a string if present (None when absent or null)."""
    if value is None:
        return None
    if not isinstance(value, str):
        logger.warning("provider sent a %s that is not a string", what)
        raise ProviderUnavailable()
    return value
