"""What every page shares: its headers, the signed-in guard, redirects and notices."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from .. import providers
from ..credentials import browser_session

NOTICE_KEY = "_ainative_notice"


def csp() -> str:
    static = str(settings.STATIC_URL or "")
    # A STATIC_URL on another origin (a CDN) must be allowed to serve the CSS and JS too
    # (and a SITE_LOGO among the static files).
    origin = "/".join(static.split("/")[:3]) if static.startswith(("https://", "http://")) else ""
    assets = f"'self' {origin}".strip()
    return (
        f"default-src 'self'; script-src {assets}; style-src {assets}; img-src {assets} data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    )


def page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Headers of every page: never cached (keys, sessions), never framed, no referrer to
    other sites, scripts and styles only from the static files (no inline code, so the
    CSP can forbid it)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response.headers.setdefault("Content-Security-Policy", csp())
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Not "no-referrer": with it, browsers send `Origin: null` on form posts, which
        # Django's CSRF check rightly refuses. same-origin leaks nothing to other sites.
        response["Referrer-Policy"] = "same-origin"
        return response

    return wrapper


def signed_in(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Only for a browser signed in through these pages (a live session row); the view
    gets ``(request, user, session, ...)``. Others are sent to log in (a browser) or get
    the 401 (anything else). Header credentials do not count: the dashboard manages keys
    and sessions, which an API key must not reach through a web page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        found = browser_session.current(request)
        if found is None:
            return browser_session.unauthenticated(request)
        user, session = found
        return view(request, user, session, *args, **kwargs)

    return wrapper


def dashboard_url() -> str:
    return reverse("ainative_auth_pages:dashboard")


def redirect(to: str) -> HttpResponse:
    # 303: the browser follows a POST's answer with a GET.
    response = HttpResponseRedirect(to)
    response.status_code = 303
    return response


def notify(request: HttpRequest, text: str) -> None:
    request.session[NOTICE_KEY] = text


def configured_providers(request: HttpRequest) -> list[tuple[str, str]]:
    """``[(provider id, label)]`` of the configured social providers: the login page's
    "Sign in with ..." buttons (read from the configuration, no use case behind it)."""
    return [(provider.id, provider.name) for provider in providers.configured_providers(request)]
