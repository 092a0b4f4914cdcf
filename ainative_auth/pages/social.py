"""Which social providers the login page offers, and where their API endpoints are.

The pages drive the social-login API exactly as any frontend would (``GET
auth/{provider}/authorize`` -> the provider -> ``POST auth/{provider}/callback``); they
never exchange a code themselves.
"""

from __future__ import annotations

from django.apps import apps
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

# Our provider names (the API's path segment) and their button labels.
PROVIDERS: dict[str, str] = {"github": "GitHub", "linkedin": "LinkedIn"}


def _provider_of(app: object) -> str | None:
    """Our name for an allauth app: GitHub through allauth's ``github`` provider, LinkedIn
    through ``openid_connect`` with the provider id ``linkedin``."""
    provider = getattr(app, "provider", "")
    if provider == "github":
        return "github"
    if provider == "openid_connect" and getattr(app, "provider_id", "") == "linkedin":
        return "linkedin"
    return None


def configured_providers(request: HttpRequest) -> list[tuple[str, str]]:
    """``[(name, label)]`` of the providers with an app that has a client id, from allauth
    (``SOCIALACCOUNT_PROVIDERS`` or the admin's ``SocialApp``), and only when the API the
    buttons drive is mounted."""
    if not apps.is_installed("allauth.socialaccount") or api_prefix() is None:
        return []
    from allauth.socialaccount.adapter import get_adapter as get_social_adapter

    names = {
        _provider_of(app) for app in get_social_adapter().list_apps(request)
        if getattr(app, "client_id", "")
    }
    return [(name, label) for name, label in PROVIDERS.items() if name in names]


def api_prefix() -> str | None:
    """Where ``ainative_auth.urls`` is mounted (``/api/v1/``), or None when it is not."""
    try:
        login = reverse("ainative_auth:login")
    except NoReverseMatch:
        return None
    return login[: -len("auth/login")]
