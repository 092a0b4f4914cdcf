"""System checks of the OAuth server's configuration."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register

from ..conf import auth_settings

ADAPTER = "ainative_auth.oauth_server.adapter.OAuthServerAdapter"


@register()
def check_oauth_server(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    problems: list[Any] = []
    if not auth_settings.SITE_URL:
        problems.append(Error(
            "The OAuth server needs AINATIVE_AUTH['SITE_URL'] (its issuer).",
            hint="Set it to the site's public origin, e.g. https://auth.example.com.",
            id="ainative_oauth.E001"))
    if "allauth.idp.oidc" not in settings.INSTALLED_APPS:
        problems.append(Error("The OAuth server needs 'allauth.idp.oidc' in INSTALLED_APPS.",
                              id="ainative_oauth.E002"))
    if getattr(settings, "IDP_OIDC_ADAPTER", None) != ADAPTER:
        problems.append(Error(f"Set IDP_OIDC_ADAPTER = {ADAPTER!r}.", id="ainative_oauth.E003"))
    if getattr(settings, "IDP_OIDC_ACCESS_TOKEN_FORMAT", "opaque") != "jwt":
        problems.append(Error("Set IDP_OIDC_ACCESS_TOKEN_FORMAT = 'jwt': the resource "
                              "servers check JWT access tokens.", id="ainative_oauth.E004"))
    if not (getattr(settings, "IDP_OIDC_PRIVATE_KEYS", None)
            or getattr(settings, "IDP_OIDC_PRIVATE_KEY", None)):
        problems.append(Error("Set IDP_OIDC_PRIVATE_KEYS (an RSA private key in PEM) to "
                              "sign tokens.", id="ainative_oauth.E005"))
    if auth_settings.OAUTH_SERVER_DYNAMIC_REGISTRATION and getattr(
            settings, "IDP_OIDC_DCR_REQUIRES_INITIAL_ACCESS_TOKEN", True):
        problems.append(Warning(
            "OAUTH_SERVER_DYNAMIC_REGISTRATION is on but IDP_OIDC_DCR_REQUIRES_INITIAL_"
            "ACCESS_TOKEN is not False: registration needs an initial access token.",
            id="ainative_oauth.W001"))
    return problems
