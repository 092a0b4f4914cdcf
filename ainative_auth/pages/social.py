"""Which social providers the login page offers, and where their API endpoints are.

The pages drive the social-login API exactly as any frontend would (``GET
auth/{provider}/authorize`` -> the provider -> ``POST auth/{provider}/callback``); they
never exchange a code themselves.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from ..client import Client
from ..services.social import list_providers


def configured_providers(request: HttpRequest) -> list[tuple[str, str]]:
    """``[(provider id, label)]`` of the configured providers (the API's own list,
    ``services.social.list_providers``), and only when the API the buttons drive is
    mounted."""
    if api_prefix() is None:
        return []
    return [(provider["id"], provider["name"])
            for provider in list_providers(Client.of(request))]


def api_prefix() -> str | None:
    """Where ``ainative_auth.urls`` is mounted (``/api/v1/``), or None when it is not."""
    try:
        login = reverse("ainative_auth:login")
    except NoReverseMatch:
        return None
    return login[: -len("auth/login")]
