"""Social sign-in pages, which social providers the login page offers, and where their
API endpoints are.

The pages drive the social-login API exactly as any frontend would (``GET
auth/{provider}/authorize`` -> the provider -> ``POST auth/{provider}/callback``); they
never exchange a code themselves.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_http_methods

from ..client import Client
from ..credentials import browser_session
from ..services.social import list_providers
from .common import page


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


def _provider_or_404(request: HttpRequest, provider: str) -> str:
    configured = dict(configured_providers(request))
    if provider not in configured:
        raise Http404("No such provider.")
    return configured[provider]


def _callback_uri(request: HttpRequest, provider: str) -> str:
    # Absolute, as the provider needs it; the API accepts it only if it is on the
    # OAUTH_REDIRECT_URIS allowlist (exact match), so a forged Host gains nothing.
    return request.build_absolute_uri(
        reverse("ainative_auth_pages:social-callback", args=[provider])
    )


@page
@require_http_methods(["GET", "HEAD"])
def social_start(request: HttpRequest, provider: str) -> HttpResponse:
    """Asks ``GET auth/{provider}/authorize`` for the provider's URL and goes there (the
    page script; the provider sends the browser back to ``social_callback``)."""
    label = _provider_or_404(request, provider)
    prefix = api_prefix()
    return render(request, "ainative_auth/pages/social.html", {
        "step": "start", "label": label,
        "authorize_url": f"{prefix}auth/{provider}/authorize",
        "redirect_uri": _callback_uri(request, provider),
        "next": browser_session.local_path(request.GET.get("next")) or "",
    })


@page
@require_http_methods(["GET", "HEAD"])
@ensure_csrf_cookie
def social_callback(request: HttpRequest, provider: str) -> HttpResponse:
    """Where the provider returns: the page script POSTs the ``code`` (and ``state``) to
    ``auth/{provider}/callback`` and hands the access token it gets to ``token_login``."""
    label = _provider_or_404(request, provider)
    prefix = api_prefix()
    return render(request, "ainative_auth/pages/social.html", {
        "step": "callback", "label": label,
        "callback_url": f"{prefix}auth/{provider}/callback",
        "redirect_uri": _callback_uri(request, provider),
    })
