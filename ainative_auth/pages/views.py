"""The pages: login, the key and session dashboard, logout, the social sign-in pages.

Each view reads its form, calls the service the matching API endpoint calls, and renders
or redirects. Every form carries Django's CSRF token and every POST view checks it
(``csrf_protect``, whether or not the project has ``CsrfViewMiddleware``). Destructive
buttons confirm with the browser's ``confirm()``; without JavaScript the same POST answers
with a confirmation page instead, so nothing is ever done unconfirmed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.exceptions import APIException, Throttled

from .. import browser
from ..authentication import authenticate_access_token
from ..client import Client
from ..conf import auth_settings
from ..exceptions import APIError
from ..models import APIKey, RefreshSession
from ..services import accounts, api_keys, sessions
from . import forms, social

NOTICE_KEY = "_ainative_notice"


# --- the one place that knows what create_key/rotate_key return -----------------------


# --- headers and guards ---------------------------------------------------------------


def _csp() -> str:
    static = str(settings.STATIC_URL or "")
    # A STATIC_URL on another origin (a CDN) must be allowed to serve the CSS and JS too.
    origin = "/".join(static.split("/")[:3]) if static.startswith(("https://", "http://")) else ""
    assets = f"'self' {origin}".strip()
    return (
        f"default-src 'self'; script-src {assets}; style-src {assets}; img-src 'self' data:; "
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
        response.headers.setdefault("Content-Security-Policy", _csp())
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
        found = browser.current(request)
        if found is None:
            return browser.unauthenticated(request)
        user, session = found
        return view(request, user, session, *args, **kwargs)

    return wrapper


def _dashboard_url() -> str:
    return reverse("ainative_auth_pages:dashboard")


def _redirect(to: str) -> HttpResponse:
    # 303: the browser follows a POST's answer with a GET.
    response = HttpResponseRedirect(to)
    response.status_code = 303
    return response


def _notify(request: HttpRequest, text: str) -> None:
    request.session[NOTICE_KEY] = text


# --- login -----------------------------------------------------------------------------


def _error_status(exc: APIException) -> int:
    return int(getattr(exc, "status_code", 400))


def _login_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    found = browser.current(request)
    return {
        "signed_in_user": found[0] if found else None,
        "providers": social.configured_providers(request),
        "errors": {},
        "values": {},
        **extra,
    }


@page
@require_http_methods(["GET", "HEAD", "POST"])
@csrf_protect
@ensure_csrf_cookie
def login_page(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: ``login_with_password`` (the throttles, lockout and account
    rules of ``auth/login``), then a browser session bound to the new session row, then
    ``next`` when it is a local path, else the dashboard."""
    source = request.POST if request.method == "POST" else request.GET
    next_path = browser.local_path(source.get("next"))
    if request.method != "POST":
        return render(request, "ainative_auth/pages/login.html",
                      _login_context(request, next=next_path))

    status = 400
    response_headers: dict[str, str] = {}
    result = forms.read_login(request.POST)
    errors = dict(result.errors)
    if result.ok:
        try:
            # django.contrib.auth.login() in browser.start sends user_logged_in.
            login = accounts.login_with_password(**result.data, client=Client.of(request),
                                                 announce=False)
        except Throttled as exc:
            wait = max(1, math.ceil(getattr(exc, "wait", None) or 1))
            errors[None] = f"Too many sign-in attempts. Try again in {wait} seconds."
            status, response_headers["Retry-After"] = 429, str(wait)
        except APIError as exc:
            errors[None] = str(exc.detail)
            status = _error_status(exc)
        else:
            browser.start(request, login.user, login.session)
            return _redirect(next_path or _dashboard_url())
    context = _login_context(request, next=next_path, errors=errors,
                             values={"email": request.POST.get("email", "")})
    response = render(request, "ainative_auth/pages/login.html", context, status=status)
    for name, value in response_headers.items():
        response[name] = value
    return response


@page
@require_POST
@csrf_protect
def logout_page(request: HttpRequest) -> HttpResponse:
    """End the Django session and revoke its session row; back to the login page."""
    browser.end(request)
    return _redirect(str(auth_settings.LOGIN_PATH))


# --- dashboard -------------------------------------------------------------------------


def _unique_labels(items: list[Any], label: Callable[[Any], str],
                   detail: Callable[[Any], str]) -> dict[Any, str]:
    """Labels that tell rows apart: ``label(item)``, plus ``detail(item)`` where two rows
    would otherwise share one (so every button's accessible name is unique)."""
    counts: dict[str, int] = {}
    for item in items:
        counts[label(item)] = counts.get(label(item), 0) + 1
    return {
        item.pk: label(item) if counts[label(item)] == 1 else f"{label(item)} ({detail(item)})"
        for item in items
    }


def _session_rows(user: Any, current: RefreshSession) -> list[dict[str, Any]]:
    live = sessions.live_sessions(user)
    labels = _unique_labels(
        live, lambda s: s.device or "Unknown device",
        lambda s: f"signed in {s.created_at:%Y-%m-%d %H:%M:%S}, {str(s.pk)[:8]}",
    )
    return [{"session": s, "label": labels[s.pk], "current": s.pk == current.pk}
            for s in live]


def _key_rows(user: Any) -> list[dict[str, Any]]:
    keys = api_keys.list_keys(user)
    labels = _unique_labels(keys, lambda k: k.name, lambda k: k.prefix)
    return [{"key": k, "label": labels[k.pk], "state": k.state()} for k in keys]


def _render_dashboard(request: HttpRequest, user: Any, session: RefreshSession, *,
                      status: int = 200, **extra: Any) -> HttpResponse:
    context = {
        "signed_in_user": user,
        "email_verified": _email_verified(user),
        "current_session": session,
        "session_rows": _session_rows(user, session),
        "key_rows": _key_rows(user),
        "expiry_choices": [(value, label) for value, label, _ in forms.EXPIRY_CHOICES],
        "scopes_hint": _scopes_hint(),
        "notice": request.session.pop(NOTICE_KEY, None),
        "errors": {},
        "values": {},
        **extra,
    }
    return render(request, "ainative_auth/pages/dashboard.html", context, status=status)


def _scopes_hint() -> str:
    default = api_keys.default_scopes()
    if default == ["*"]:
        return "Separated by commas or spaces. Leave empty for full access (*)."
    return f"Separated by commas or spaces. Leave empty for: {', '.join(default) or 'none'}."


def _email_verified(user: Any) -> bool:
    from ..adapter import get_adapter

    return get_adapter().is_email_verified(user)


@page
@require_http_methods(["GET", "HEAD"])
@signed_in
def dashboard(request: HttpRequest, user: Any, session: RefreshSession) -> HttpResponse:
    """Who is signed in, the live sessions, the API keys, the create form."""
    return _render_dashboard(request, user, session)


def _shown_once(request: HttpRequest, user: Any, session: RefreshSession,
                created: api_keys.IssuedKey, status: int) -> HttpResponse:
    # Rendered into this POST's answer, never kept anywhere to show later: the key and its
    # secret exist only in this response. The page script swaps the URL for /dashboard so
    # a reload is a GET (the key is gone), not a second POST.
    return _render_dashboard(request, user, session, status=status, new_key=created,
                             replace_url=_dashboard_url())


@page
@require_POST
@csrf_protect
@signed_in
def create_key(request: HttpRequest, user: Any, session: RefreshSession) -> HttpResponse:
    """``services.api_keys.create_key`` with the form's name, scopes and expiry."""
    result = forms.read_new_key(request.POST)
    errors = dict(result.errors)
    if result.ok:
        try:
            created = api_keys.create_key(user, **result.data)
        except APIError as exc:
            errors[None] = str(exc.detail)
        else:
            return _shown_once(request, user, session, created, status=201)
    values = {name: request.POST.get(name, "") for name in ("name", "scopes", "expires")}
    return _render_dashboard(request, user, session, status=400, errors=errors,
                             values=values)


def _confirm(request: HttpRequest, user: Any, *, title: str, text: str,
             button: str) -> HttpResponse:
    """The second page of a destructive action (when ``confirm()`` did not run)."""
    return render(request, "ainative_auth/pages/confirm.html", {
        "signed_in_user": user, "title": title, "text": text, "button": button,
        "action": request.path,
    })


def _confirmed(request: HttpRequest) -> bool:
    return request.POST.get("confirmed") == "yes"


def _key_or_404(user: Any, key_id: str) -> APIKey:
    key = api_keys.get_key(user, key_id)
    if key is None:
        raise Http404("No such API key.")
    return key


def _key_label(user: Any, key: APIKey) -> str:
    return next(row["label"] for row in _key_rows(user) if row["key"].pk == key.pk)


@page
@require_POST
@csrf_protect
@signed_in
def rotate_key(request: HttpRequest, user: Any, session: RefreshSession,
               key_id: str) -> HttpResponse:
    """``services.api_keys.rotate_key``: a new secret, shown once; the old one stops."""
    key = _key_or_404(user, key_id)
    label = _key_label(user, key)
    if not _confirmed(request):
        return _confirm(request, user, title=f"Rotate key {label}?",
                        text="Its current secret stops working now: every client using "
                             "it needs the new key.",
                        button=f"Rotate key {label}")
    try:
        rotated = api_keys.rotate_key(key)
    except APIError as exc:
        _notify(request, str(exc.detail))
        return _redirect(_dashboard_url())
    return _shown_once(request, user, session, rotated, status=200)


@page
@require_POST
@csrf_protect
@signed_in
def revoke_key(request: HttpRequest, user: Any, session: RefreshSession,
               key_id: str) -> HttpResponse:
    """``services.api_keys.revoke_key``: the key's next request is a 401."""
    key = _key_or_404(user, key_id)
    label = _key_label(user, key)
    if not _confirmed(request):
        return _confirm(request, user, title=f"Revoke key {label}?",
                        text="Requests made with it will fail from now on. This cannot "
                             "be undone.",
                        button=f"Revoke key {label}")
    api_keys.revoke_key(key)
    _notify(request, f"Key {label} was revoked.")
    return _redirect(_dashboard_url())


@page
@require_POST
@csrf_protect
@signed_in
def revoke_session(request: HttpRequest, user: Any, session: RefreshSession,
                   session_id: str) -> HttpResponse:
    """``services.sessions.revoke_user_session``: that device is signed out at once."""
    rows = {str(row["session"].pk): row for row in _session_rows(user, session)}
    row = rows.get(session_id)
    if row is None:
        raise Http404("No such session.")
    if not _confirmed(request):
        return _confirm(request, user, title=f"Revoke session {row['label']}?",
                        text="That device is signed out and its tokens stop working now.",
                        button=f"Revoke session {row['label']}")
    sessions.revoke_user_session(user, session_id)
    _notify(request, f"Session {row['label']} was revoked.")
    return _redirect(_dashboard_url())


# --- social sign-in ----------------------------------------------------------------------


def _provider_or_404(request: HttpRequest, provider: str) -> str:
    configured = dict(social.configured_providers(request))
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
    prefix = social.api_prefix()
    return render(request, "ainative_auth/pages/social.html", {
        "step": "start", "label": label,
        "authorize_url": f"{prefix}auth/{provider}/authorize",
        "redirect_uri": _callback_uri(request, provider),
        "next": browser.local_path(request.GET.get("next")) or "",
    })


@page
@require_http_methods(["GET", "HEAD"])
@ensure_csrf_cookie
def social_callback(request: HttpRequest, provider: str) -> HttpResponse:
    """Where the provider returns: the page script POSTs the ``code`` (and ``state``) to
    ``auth/{provider}/callback`` and hands the access token it gets to ``token_login``."""
    label = _provider_or_404(request, provider)
    prefix = social.api_prefix()
    return render(request, "ainative_auth/pages/social.html", {
        "step": "callback", "label": label,
        "callback_url": f"{prefix}auth/{provider}/callback",
        "redirect_uri": _callback_uri(request, provider),
    })


@page
@require_POST
@csrf_protect
def token_login(request: HttpRequest) -> HttpResponse:
    """Turn an access token (from the social callback) into a browser session bound to the
    token's own session row. The token already grants everything a browser session does;
    the CSRF check keeps another site from signing a visitor into its own account."""
    next_path = browser.local_path(request.POST.get("next"))
    try:
        user, access = authenticate_access_token(request.POST.get("access_token", ""))
    except APIError as exc:
        context = _login_context(request, next=next_path, errors={None: str(exc.detail)})
        return render(request, "ainative_auth/pages/login.html", context,
                      status=_error_status(exc))
    browser.start(request, user, access.session)
    return _redirect(next_path or _dashboard_url())
