"""The login page and logout: the pages' doors into and out of a browser session."""

from __future__ import annotations

import math
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.exceptions import APIException, Throttled

from ..client import Client
from ..conf import auth_settings
from ..credentials import browser_session
from ..exceptions import APIError, MFARequired
from ..services import accounts, sessions
from . import forms
from .common import configured_providers, dashboard_url, page, redirect


def error_status(exc: APIException) -> int:
    return int(getattr(exc, "status_code", 400))


def _optional_url(name: str) -> str | None:
    """The path of page ``name`` when it is mounted (the MFA pages exist only with
    ``ainative_auth.mfa`` installed), else None."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def login_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    """What the login page shows besides ``extra``: who is signed in already, the
    configured providers' buttons, and "Sign in with a passkey" when passkeys are there."""
    found = browser_session.current(request)
    return {
        "signed_in_user": found[0] if found else None,
        "providers": configured_providers(request),
        "passkey_login_url": _optional_url("ainative_auth_pages:passkey-login"),
        "errors": {},
        "values": {},
        **extra,
    }


def render_factor_step(request: HttpRequest, *, status: int = 200, next_path: str | None,
                       errors: dict[Any, str] | None = None) -> HttpResponse:
    """The login page's second step for a sign-in waiting for its second factor (the
    ``mfa_token`` stays in this browser's Django session): a field labelled
    "Authentication code" and a "Verify" button, posting to the MFA app's challenge page,
    and "Use a passkey" where passkeys are on."""
    return render_login(request, status=status, next=next_path, errors=errors or {},
                        mfa_step=True,
                        challenge_url=_optional_url("ainative_auth_pages:mfa-challenge"))


def render_login(request: HttpRequest, *, status: int = 200, **extra: Any) -> HttpResponse:
    return render(request, "ainative_auth/pages/login.html", login_context(request, **extra),
                  status=status)


@page
@require_http_methods(["GET", "HEAD", "POST"])
@csrf_protect
@ensure_csrf_cookie
def login_page(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: ``login_with_password`` with this browser (the throttles,
    lockout and account rules of ``auth/login``; the browser is signed in through the one
    door, bound to the new session row), then ``next`` when it is a local path, else the
    dashboard."""
    source = request.POST if request.method == "POST" else request.GET
    next_path = browser_session.local_path(source.get("next"))
    if request.method != "POST":
        if "restart" in request.GET:
            browser_session.forget_pending_factor(request)
        elif browser_session.pending_factor_token(request):
            # A password (here, or the admin's form) or a provider was right: the code.
            return render_factor_step(request, next_path=next_path)
        return render_login(request, next=next_path)

    status = 400
    response_headers: dict[str, str] = {}
    result = forms.read_login(request.POST)
    errors = dict(result.errors)
    if result.ok:
        try:
            accounts.login_with_password(**result.data, client=Client.of(request),
                                         browser=request)
        except MFARequired:
            return render_factor_step(request, next_path=next_path)
        except Throttled as exc:
            wait = max(1, math.ceil(getattr(exc, "wait", None) or 1))
            errors[None] = f"Too many sign-in attempts. Try again in {wait} seconds."
            status, response_headers["Retry-After"] = 429, str(wait)
        except APIError as exc:
            errors[None] = str(exc.detail)
            status = error_status(exc)
        else:
            return redirect(next_path or dashboard_url())
    response = render_login(request, status=status, next=next_path, errors=errors,
                            values={"email": request.POST.get("email", "")})
    for name, value in response_headers.items():
        response[name] = value
    return response


@page
@require_POST
@csrf_protect
def logout_page(request: HttpRequest) -> HttpResponse:
    """``sessions.sign_out_browser``: the browser's session row is revoked (its tokens die
    with it) and the Django session flushed; back to the login page."""
    sessions.sign_out_browser(request, Client.of(request))
    return redirect(str(auth_settings.LOGIN_PATH))
